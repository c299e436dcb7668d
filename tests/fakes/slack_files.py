"""files.* of the fake Slack: the upload flow `files_upload_v2` uses, and downloads.

files.getUploadURLExternal hands out an upload URL on this fake, the bytes are POSTed there,
files.completeUploadExternal shares the files (as a bot message per channel), and
`url_private` serves them back to a client holding the bot token.
"""

from __future__ import annotations

import mimetypes
import secrets
import time
from typing import Any

from aiohttp import web

from tests.fakes.slack_http import ApiError, form_value
from tests.fakes.slack_recording import UploadedFile


class FileMethodsMixin:
    """Upload URL, upload completion and file download; mixed into ``FakeSlack``."""

    # Provided by FakeSlack.
    bot_token: str
    bot_user_id: str
    uploaded_files: list[UploadedFile]
    _uploads: dict[str, UploadedFile]

    def _get_upload_url(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("filename") or not str(params.get("length", "")).isdigit():
            raise ApiError("invalid_arguments")
        key = secrets.token_urlsafe(12)
        url = f"{self.base_url}/upload/v1/{key}"
        upload = UploadedFile(
            self._next_id("F"), str(params["filename"]), int(params["length"]), url,
            alt_txt=params.get("alt_txt"),
        )  # fmt: skip
        self._uploads[key] = upload
        self.uploaded_files.append(upload)
        return {"upload_url": url, "file_id": upload.id}

    def _complete_upload(self, params: dict[str, Any]) -> dict[str, Any]:
        items = params.get("files")
        if not isinstance(items, list) or not items:
            raise ApiError("invalid_arguments")
        by_id = {f.id: f for f in self.uploaded_files}
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
            "user": self.bot_user_id,
            "url_private": f"{self.base_url}/files/{upload.id}/{upload.filename}",
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
        call = await self._begin("upload_url", {"key": key, "size": len(data)}, None)
        faulty = self._fault(call)
        if faulty is not None:
            return faulty
        upload = self._uploads.get(key)
        if upload is None:
            call.status = 404
            return web.Response(status=404, text="upload_not_found")
        upload.data = data
        call.response = {"ok": True}
        return web.Response(text=f"OK - {len(data)}")

    async def _handle_download(self, request: web.Request) -> web.Response:
        """`url_private` of an uploaded file; needs the bot token, like Slack."""
        upload = next(
            (f for f in self.uploaded_files if f.id == request.match_info["file_id"]), None
        )
        if request.headers.get("Authorization") != f"Bearer {self.bot_token}":
            return web.Response(status=403, text="forbidden")
        if upload is None or upload.data is None:
            return web.Response(status=404, text="file_not_found")
        return web.Response(body=upload.data, content_type=self._file_info(upload)["mimetype"])
