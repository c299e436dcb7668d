"""Channels and messages in the fake Discord.

``MessageRoutesMixin`` creates, edits and deletes messages (attachments, replies, nonces, the
gateway events they cause) and serves the REST routes for channels, messages, history, typing
and the attachment CDN.
"""

from __future__ import annotations

import bisect
import copy
import re
import time
from typing import Any

from aiohttp import web

from tests.fakes.discord_gateway_protocol import INTENT_GUILD_MESSAGES, INTENT_GUILDS
from tests.fakes.discord_http import REQUEST_BODY, REQUEST_FILES, json_response
from tests.fakes.discord_limits import ApiError, parse_snowflake, too_long, validate_message
from tests.fakes.discord_records import UploadedFile, iso

FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
FLAG_HAS_THREAD = 1 << 5
_MENTION_RE = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION_RE = re.compile(r"<@&(\d+)>")


class MessageRoutesMixin:
    """Message state changes and channel/message routes; mixed into ``FakeDiscord``."""

    def _store_attachment(
        self,
        channel_id: int,
        filename: str,
        data: bytes,
        content_type: str | None,
        description: str | None,
        field_name: str = "files[0]",
    ) -> dict[str, Any]:
        att_id = self.ids.next()
        self.attachments[att_id] = UploadedFile(
            filename, data, content_type, field_name, att_id, channel_id
        )
        url = f"{self.base_url}/attachments/{channel_id}/{att_id}/{filename}"
        payload: dict[str, Any] = {
            "id": str(att_id),
            "filename": filename,
            "size": len(data),
            "url": url,
            "proxy_url": url,
            "content_type": _guess_type(filename)
            if content_type in (None, "application/octet-stream")
            else content_type,
        }
        if description:
            payload["description"] = description
        return payload

    def _attachments_from(
        self,
        channel_id: int,
        body: dict[str, Any],
        files: list[UploadedFile],
        existing: list[dict[str, Any]],
    ) -> list[dict[str, Any]]:
        meta = {}
        keep = []
        for item in body.get("attachments") or []:
            known = next((a for a in existing if a["id"] == str(item.get("id"))), None)
            if known is not None:
                keep.append(known)
            else:
                meta[str(item.get("id"))] = item
        if "attachments" not in body:
            keep = list(existing)
        for index, upload in enumerate(files):
            idx = re.search(r"\[(\d+)\]", upload.field)
            info = meta.get(idx.group(1) if idx else str(index), {})
            filename = info.get("filename") or upload.filename
            att = self._store_attachment(
                channel_id,
                filename,
                upload.data,
                upload.content_type,
                info.get("description"),
                upload.field,
            )
            keep.append(att)
        return keep

    async def _create_message(
        self,
        channel_id: int,
        author_id: int,
        body: dict[str, Any],
        files: list[UploadedFile],
        *,
        message_id: int | None = None,
        validate: bool = True,
        dispatch: bool = True,
        extra: dict[str, Any] | None = None,
        ephemeral: bool = False,
    ) -> dict[str, Any]:
        channel = self._get_channel(channel_id)
        if validate:
            validate_message(body, files)
        self._ensure_user(author_id)
        nonce = body.get("nonce")
        if nonce is not None and body.get("enforce_nonce"):
            key = (channel_id, author_id, str(nonce))
            seen = self._nonces.get(key)
            if seen and time.monotonic() - seen[1] < self.nonce_window and seen[0] in self._msgs:
                return self._render(self._msgs[seen[0]])
        mid = self.ids.next() if message_id is None else message_id
        if mid in self._msgs:
            raise ValueError(f"message id {mid} already exists")
        content = body.get("content") or ""
        mentions = [
            self._user_payload(int(u)) for u in _MENTION_RE.findall(content) if int(u) in self.users
        ]
        msg: dict[str, Any] = {
            "id": str(mid),
            "type": 0,
            "channel_id": str(channel_id),
            "author": self._user_payload(author_id),
            "content": content,
            "timestamp": iso(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts", False)),
            "mention_everyone": "@everyone" in content,
            "mentions": mentions,
            "mention_roles": _ROLE_MENTION_RE.findall(content),
            "attachments": self._attachments_from(channel_id, body, files, []),
            "embeds": [_normalise_embed(e) for e in body.get("embeds") or []],
            "pinned": False,
            "flags": int(body.get("flags") or 0),
            "components": body.get("components") or [],
        }
        if nonce is not None:
            msg["nonce"] = str(nonce)
        if body.get("sticker_ids"):
            msg["sticker_items"] = []
        ref = body.get("message_reference")
        if ref and ref.get("message_id"):
            ref_id = int(ref["message_id"])
            msg["type"] = 19
            msg["message_reference"] = {
                "type": 0,
                "message_id": str(ref_id),
                "channel_id": str(ref.get("channel_id") or channel_id),
                "guild_id": self._guild_of(channel_id),
            }
            if ref_id in self._msgs:
                msg["referenced_message"] = self._render(self._msgs[ref_id])
        msg.update(extra or {})
        self._msgs[mid] = msg
        for upload in files:
            upload.channel_id, upload.message_id = channel_id, mid
        for att in msg["attachments"]:
            self.attachments[int(att["id"])].message_id = mid
        if nonce is not None and body.get("enforce_nonce"):
            self._nonces[(channel_id, author_id, str(nonce))] = (mid, time.monotonic())
        if ephemeral:
            self._ephemeral.add(mid)
            return self._render(msg)
        bisect.insort(self._history.setdefault(channel_id, []), mid)
        channel["last_message_id"] = str(mid)
        if channel["type"] in (10, 11, 12):
            channel["message_count"] += 1
            channel["total_message_sent"] += 1
        if dispatch:
            await self.dispatch_event(
                "MESSAGE_CREATE", self._event_message(msg), intent=INTENT_GUILD_MESSAGES
            )
        return self._render(msg)

    async def _edit_message(
        self, msg: dict[str, Any], body: dict[str, Any], files: list[UploadedFile]
    ) -> dict[str, Any]:
        validate_message(body, files, allow_empty=True)
        if "content" in body:
            msg["content"] = body["content"] or ""
        if "embeds" in body:
            msg["embeds"] = [_normalise_embed(e) for e in body["embeds"] or []]
        if "components" in body:
            msg["components"] = body["components"] or []
        if "flags" in body and body["flags"] is not None:
            keep = msg["flags"] & (FLAG_EPHEMERAL | FLAG_HAS_THREAD)
            msg["flags"] = int(body["flags"]) | keep
        if "attachments" in body or files:
            channel_id = int(msg["channel_id"])
            msg["attachments"] = self._attachments_from(channel_id, body, files, msg["attachments"])
            for att in msg["attachments"]:
                self.attachments[int(att["id"])].message_id = int(msg["id"])
        msg["flags"] &= ~FLAG_LOADING
        msg["edited_timestamp"] = iso()
        if int(msg["id"]) not in self._ephemeral:
            await self.dispatch_event(
                "MESSAGE_UPDATE", self._event_message(msg), intent=INTENT_GUILD_MESSAGES
            )
        return self._render(msg)

    async def _delete_message(self, msg: dict[str, Any]) -> None:
        mid, channel_id = int(msg["id"]), int(msg["channel_id"])
        del self._msgs[mid]
        self._reactions.pop(mid, None)
        history = self._history.get(channel_id, [])
        if mid in history:
            history.remove(mid)
            guild = self._guild_of(channel_id)
            data = {"id": str(mid), "channel_id": str(channel_id), "guild_id": guild}
            await self.dispatch_event("MESSAGE_DELETE", data, intent=INTENT_GUILD_MESSAGES)

    # -- REST handlers: channels and messages -------------------------------------------------

    async def _h_get_channel(self, request: web.Request) -> web.Response:
        return json_response(self._get_channel(parse_snowflake(request.match_info["channel_id"])))

    async def _h_patch_channel(self, request: web.Request) -> web.Response:
        channel = self._get_channel(parse_snowflake(request.match_info["channel_id"]))
        body = request[REQUEST_BODY]
        for key in ("name", "topic", "rate_limit_per_user", "nsfw"):
            if key in body:
                channel[key] = body[key]
        if channel["type"] in (11, 12):
            meta = channel["thread_metadata"]
            for key in ("archived", "locked", "auto_archive_duration"):
                if key in body:
                    meta[key] = body[key]
            if "archived" in body:
                meta["archive_timestamp"] = iso()
            await self.dispatch_event("THREAD_UPDATE", copy.deepcopy(channel), intent=INTENT_GUILDS)
        else:
            await self.dispatch_event(
                "CHANNEL_UPDATE", copy.deepcopy(channel), intent=INTENT_GUILDS
            )
        return json_response(channel)

    async def _h_history(self, request: web.Request) -> web.Response:
        channel_id = parse_snowflake(request.match_info["channel_id"])
        self._get_channel(channel_id)
        query = request.query
        limit = int(query.get("limit", 50))
        if not 1 <= limit <= 100:
            raise ApiError.invalid_form({"limit": too_long(100)})
        ids = self._history.get(channel_id, [])
        if "before" in query:
            picked = [i for i in ids if i < int(query["before"])][-limit:]
        elif "after" in query:
            picked = [i for i in ids if i > int(query["after"])][:limit]
        elif "around" in query:
            pivot = bisect.bisect_left(ids, int(query["around"]))
            start = max(0, pivot - limit // 2)
            picked = ids[start : start + limit]
        else:
            picked = ids[-limit:]
        return json_response([self._render(self._msgs[i]) for i in reversed(picked)])

    async def _h_post_message(self, request: web.Request) -> web.Response:
        channel_id = parse_snowflake(request.match_info["channel_id"])
        self._get_channel(channel_id)
        body, files = request[REQUEST_BODY], request[REQUEST_FILES]
        created = await self._create_message(channel_id, self.bot_user_id, body, files)
        return json_response(created)

    async def _h_typing(self, request: web.Request) -> web.Response:
        self._get_channel(parse_snowflake(request.match_info["channel_id"]))
        return web.Response(status=204)

    def _message_from(self, request: web.Request) -> dict[str, Any]:
        channel_id = parse_snowflake(request.match_info["channel_id"])
        return self._get_message(channel_id, parse_snowflake(request.match_info["message_id"]))

    async def _h_get_message(self, request: web.Request) -> web.Response:
        return json_response(self._render(self._message_from(request)))

    async def _h_patch_message(self, request: web.Request) -> web.Response:
        msg = self._message_from(request)
        if msg["author"]["id"] != str(self.bot_user_id):
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        return json_response(
            await self._edit_message(msg, request[REQUEST_BODY], request[REQUEST_FILES])
        )

    async def _h_delete_message(self, request: web.Request) -> web.Response:
        await self._delete_message(self._message_from(request))
        return web.Response(status=204)

    # -- attachment CDN -----------------------------------------------------------------------

    async def _h_cdn(self, request: web.Request) -> web.Response:
        upload = self.attachments.get(parse_snowflake(request.match_info["attachment_id"]))
        if upload is None or upload.filename != request.match_info["filename"]:
            return web.Response(status=404, text="Not Found")
        content_type = upload.content_type or _guess_type(upload.filename)
        return web.Response(body=upload.data, content_type=content_type)


def _guess_type(filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return {
        "png": "image/png",
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "gif": "image/gif",
        "webp": "image/webp",
        "txt": "text/plain; charset=utf-8",
        "md": "text/markdown; charset=utf-8",
        "json": "application/json",
    }.get(ext, "application/octet-stream")


def _normalise_embed(embed: dict[str, Any]) -> dict[str, Any]:
    out = dict(embed)
    out.setdefault("type", "rich")
    out.setdefault("content_scan_version", 0)
    return out
