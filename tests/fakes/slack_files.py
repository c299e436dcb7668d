"""files.* of the fake Slack: the upload flow `files_upload_v2` uses, downloads, and the files
an `image` block may name.

files.getUploadURLExternal hands out an upload URL on this fake, the bytes are POSTed there,
files.completeUploadExternal shares the files (as a bot message per channel), and
`url_private` serves them back to a client holding the bot token. Completed with no channel, a
file exists but is shared nowhere (private to the app): a message shows it only through an
`image` block's `slack_file` (`{"id": ...}` or `{"url": url_private or permalink}`, not both).
Like Slack, a block naming a file that does not exist, whose upload was not completed, or that
is not a png, jpg, jpeg or gif is refused with `invalid_blocks`, "invalid slack file
[json-pointer:/blocks/N/slack_file]"; `refuse_image_blocks = True` refuses every such block.
"""

from __future__ import annotations

import mimetypes
import secrets
import time
from collections.abc import Callable
from typing import Any, ClassVar

from aiohttp import web

from tests.fakes.slack_http import ApiError, form_value
from tests.fakes.slack_recording import UploadedFile


class FileMethodsMixin:
    """Upload URL, upload completion and file download; mixed into ``FakeSlack``."""

    # Provided by FakeSlack.
    bot_token: str
    team_id: str
    uploaded_files: list[UploadedFile]
    _uploads: dict[str, UploadedFile]
    _calling_team: str  # slack_workspaces
    bot_user_of: Callable[[str | None], str]
    team_of: Callable[[str | None], str | None]

    # Set on a fake to refuse every image block naming a slack_file, as Slack does while it is
    # still processing the file or when the workspace will not show it.
    refuse_image_blocks: bool = False
    SHOWABLE: ClassVar[frozenset[str]] = frozenset({"png", "jpg", "jpeg", "gif"})

    def _slack_file_errors(self, blocks: list[Any]) -> list[str]:
        """Slack's `invalid_blocks` errors for image blocks whose `slack_file` it cannot show."""
        errors = []
        for i, block in enumerate(blocks):
            if isinstance(block, dict) and block.get("type") == "image":
                ref = block.get("slack_file")
                if ref is not None and not self._showable(ref):
                    errors.append(f"invalid slack file [json-pointer:/blocks/{i}/slack_file]")
        return errors

    def _showable(self, ref: Any) -> bool:
        if self.refuse_image_blocks or not isinstance(ref, dict):
            return False
        if bool(ref.get("id")) == bool(ref.get("url")):  # exactly one of them
            return False
        upload = next((f for f in self._team_files() if self._names(ref, f)), None)
        if upload is None or not upload.completed or upload.data is None:
            return False
        return upload.filename.rsplit(".", 1)[-1].lower() in self.SHOWABLE

    def _team_files(self) -> list[UploadedFile]:
        """The calling team's uploads: a file id of another workspace names nothing here."""
        return [f for f in self.uploaded_files if f.team == self._calling_team]

    def _names(self, ref: dict[str, Any], upload: UploadedFile) -> bool:
        if ref.get("id"):
            return bool(ref["id"] == upload.id)
        info = self._file_info(upload)
        return ref.get("url") in (info["url_private"], info["permalink"])

    def _get_upload_url(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("filename") or not str(params.get("length", "")).isdigit():
            raise ApiError("invalid_arguments")
        key = secrets.token_urlsafe(12)
        url = f"{self.base_url}/upload/v1/{key}"
        upload = UploadedFile(
            self._next_id("F"), str(params["filename"]), int(params["length"]), url,
            alt_txt=params.get("alt_txt"), team=self._calling_team,
        )  # fmt: skip
        self._uploads[key] = upload
        self.uploaded_files.append(upload)
        return {"upload_url": url, "file_id": upload.id}

    def _complete_upload(self, params: dict[str, Any]) -> dict[str, Any]:
        items = params.get("files")
        if not isinstance(items, list) or not items:
            raise ApiError("invalid_arguments")
        by_id = {f.id: f for f in self._team_files()}
        uploads: list[UploadedFile] = []
        for item in items:
            upload = by_id.get(str(item.get("id")))
            if upload is None or upload.data is None or upload.completed:
                raise ApiError("file_not_found")
            upload.title = item.get("title") or upload.filename
            uploads.append(upload)
        channels = [str(c) for c in str(params.get("channels") or "").split(",") if c]
        if params.get("channel_id"):
            channels.insert(0, str(params["channel_id"]))
        channels = [self._channel({"channel": c}) for c in channels]
        thread_ts = str(params["thread_ts"]) if params.get("thread_ts") else None
        if thread_ts and not channels:
            raise ApiError("invalid_arguments")
        infos = [self._file_info(u) for u in uploads]
        for upload in uploads:
            upload.completed, upload.channels, upload.thread_ts = True, channels, thread_ts
            upload.initial_comment = params.get("initial_comment")
        for channel in channels:
            content = {"text": params.get("initial_comment") or ""}
            self._store(self._bot_message(channel, content, thread_ts=thread_ts, files=infos))
        return {"files": infos}

    def _file_info(self, upload: UploadedFile) -> dict[str, Any]:
        mimetype = mimetypes.guess_type(upload.filename)[0] or "application/octet-stream"
        return {
            "id": upload.id,
            "created": int(time.time()),
            "name": upload.filename,
            "title": upload.title,
            "mimetype": mimetype,
            "filetype": upload.filename.rsplit(".", 1)[-1].lower(),
            "size": len(upload.data or b""),
            "user": self.bot_user_of(upload.team),
            "url_private": f"{self.base_url}/files/{upload.id}/{upload.filename}",
            "permalink": f"https://fake.slack.com/files/{self.bot_user_of(upload.team)}/{upload.id}/{upload.filename}",
            "alt_txt": upload.alt_txt,
        }

    async def _handle_upload(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            parts = [form_value(v) for v in form.values() if isinstance(v, web.FileField)]
            data: bytes = parts[0] if parts else b""
        else:
            data = await request.read()
        upload = self._uploads.get(key)
        team = upload.team if upload is not None else None
        call = await self._begin("upload_url", {"key": key, "size": len(data)}, None, team=team)
        faulty = self._fault(call)
        if faulty is not None:
            return faulty
        if upload is None:
            call.status = 404
            return web.Response(status=404, text="upload_not_found")
        upload.data = data
        call.response = {"ok": True}
        return web.Response(text=f"OK - {len(data)}")

    async def _handle_download(self, request: web.Request) -> web.Response:
        """`url_private` of an uploaded file; needs a bot token of the file's team, like Slack."""
        upload = next(
            (f for f in self.uploaded_files if f.id == request.match_info["file_id"]), None
        )
        auth = request.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        team = self.team_id if token == self.bot_token else self.team_of(token)
        if team is None or (upload is not None and upload.team != team):
            return web.Response(status=403, text="forbidden")
        if upload is None or upload.data is None:
            return web.Response(status=404, text="file_not_found")
        return web.Response(body=upload.data, content_type=self._file_info(upload)["mimetype"])
