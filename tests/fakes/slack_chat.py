"""Web API chat methods of the fake Slack: chat.* and reactions.*.

Includes the channel lookup and membership (`channel_not_found`, `not_in_channel`, the reach of
`chat:write.public`) and the checks Slack applies
to text, blocks and metadata (`no_text`, `invalid_blocks`, `msg_blocks_too_long`, ...).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tests.fakes.slack_blocks import (
    MAX_BLOCKS_JSON,
    MAX_TEXT,
    block_errors,
    utf16_len,
    utf16_prefix,
)
from tests.fakes.slack_http import ApiError
from tests.fakes.slack_recording import FakeMessage


class ChatMethodsMixin:
    """chat.* and reactions.* methods; mixed into ``FakeSlack``."""

    # Provided by FakeSlack.
    bot_user_id: str
    bot_id: str
    strict_channels: bool
    scopes: frozenset[str]
    ephemerals: list[FakeMessage]
    _channels: dict[str, dict[str, Any]]
    _messages: dict[tuple[str, str], FakeMessage]
    _slack_file_errors: Callable[[list[Any]], list[str]]  # FileMethodsMixin's

    def _channel(self, params: dict[str, Any], key: str = "channel", *, post: bool = False) -> str:
        """The channel the call names, if the bot may act there. `post`: chat.postMessage,
        which `chat:write.public` lets into public channels the bot has not joined."""
        cid = str(params.get(key) or "")
        if cid.startswith("#"):
            cid = next((c for c, v in self._channels.items() if v["name"] == cid[1:]), cid)
        if cid not in self._channels:
            if self.strict_channels or cid[:1] not in ("C", "G", "D"):
                raise ApiError("channel_not_found")
            self.create_channel(cid, is_private=cid.startswith("G"))
        info = self._channels[cid]
        if self.bot_user_id not in info["members"]:
            if info["is_private"]:
                raise ApiError("channel_not_found")  # invisible to non-members
            if not (post and "chat:write.public" in self.scopes):
                raise ApiError("not_in_channel")
        return cid

    def _find(self, channel: str, ts: Any) -> FakeMessage:
        msg = self._messages.get((channel, str(ts)))
        if msg is None or msg.deleted:
            raise ApiError("message_not_found")
        return msg

    def _content(self, params: dict[str, Any], *, required: bool = True) -> dict[str, Any]:
        """Validate text/blocks/metadata as Slack does; returns the fields to store."""
        out: dict[str, Any] = {}
        blocks, text = params.get("blocks"), params.get("text")
        if blocks is not None:
            if isinstance(blocks, str):
                raise ApiError("invalid_blocks_format")
            errors = block_errors(blocks)
            if isinstance(blocks, list):
                errors += self._slack_file_errors(blocks)
            if errors:
                messages = [f"[ERROR] {e}" for e in errors]
                raise ApiError(
                    "invalid_blocks", errors=errors, response_metadata={"messages": messages}
                )
            if len(json.dumps(blocks)) > MAX_BLOCKS_JSON:
                raise ApiError("msg_blocks_too_long")
            out["blocks"] = blocks or None
        if "attachments" in params:
            out["attachments"] = params["attachments"]
        if required and not text and not blocks and not params.get("attachments"):
            raise ApiError("no_text")
        if text is not None:
            out["text"] = utf16_prefix(str(text), MAX_TEXT)
            out["truncated"] = utf16_len(str(text)) > MAX_TEXT
        if "metadata" in params:
            meta = params["metadata"]
            if not isinstance(meta, dict) or not isinstance(meta.get("event_type"), str):
                raise ApiError("invalid_metadata_format")
            if not isinstance(meta.get("event_payload", {}), dict):
                raise ApiError("invalid_metadata_schema")
            out["metadata"] = meta
        return out

    def _bot_message(self, channel: str, content: dict[str, Any], **kw: Any) -> FakeMessage:
        msg = FakeMessage(channel, self.next_ts(), self.bot_user_id, bot_id=self.bot_id, **kw)
        msg.text = content.get("text") or ""
        msg.truncated = bool(content.get("truncated"))
        msg.blocks, msg.metadata = content.get("blocks"), content.get("metadata")
        msg.attachments = content.get("attachments")
        msg.missing_fallback = bool(msg.blocks) and not msg.text
        return msg

    def _post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params, post=True)
        content = self._content(params)
        thread_ts = str(params["thread_ts"]) if params.get("thread_ts") else None
        msg = self._bot_message(channel, content, thread_ts=thread_ts)
        self._store(msg)
        return {"channel": channel, "ts": msg.ts, "message": self._render(msg)}

    def _update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        msg = self._find(channel, params.get("ts"))
        if msg.user != self.bot_user_id:
            raise ApiError("cant_update_message")
        content = self._content(params)
        for key in ("text", "truncated", "blocks", "metadata", "attachments"):
            if key in content:
                setattr(msg, key, content[key])
        msg.missing_fallback = bool(msg.blocks) and not msg.text
        msg.edits, msg.edited_ts = msg.edits + 1, self.next_ts()
        return {"channel": channel, "ts": msg.ts, "text": msg.text, "message": self._render(msg)}

    def _delete(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        msg = self._find(channel, params.get("ts"))
        if msg.user != self.bot_user_id:
            raise ApiError("cant_delete_message")
        msg.deleted = True
        return {"channel": channel, "ts": msg.ts}

    def _post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        if not params.get("user"):
            raise ApiError("user_not_in_channel")
        thread_ts = str(params["thread_ts"]) if params.get("thread_ts") else None
        msg = self._bot_message(
            channel, self._content(params), thread_ts=thread_ts, ephemeral_user=params["user"]
        )
        self.ephemerals.append(msg)
        return {"message_ts": msg.ts}

    def _permalink(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        msg = self._find(channel, params.get("message_ts"))
        link = f"https://fake.slack.com/archives/{channel}/p{msg.ts.replace('.', '')}"
        return {"channel": channel, "permalink": link}

    def _reaction_target(self, params: dict[str, Any]) -> tuple[FakeMessage, str]:
        msg = self._find(self._channel(params), params.get("timestamp"))
        name = str(params.get("name") or "")
        if not name or name.startswith(":") or name.endswith(":"):
            raise ApiError("invalid_name")
        return msg, name

    def _reactions_add(self, params: dict[str, Any]) -> dict[str, Any]:
        msg, name = self._reaction_target(params)
        users = msg.reactions.setdefault(name, [])
        if self.bot_user_id in users:
            raise ApiError("already_reacted")
        users.append(self.bot_user_id)
        return {}

    def _reactions_get(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        msg = self._find(channel, params.get("timestamp"))
        reactions = [
            {"name": name, "users": list(users), "count": len(users)}
            for name, users in msg.reactions.items()
        ]
        message = {"type": "message", "ts": msg.ts, "text": msg.text, "reactions": reactions}
        return {"type": "message", "channel": channel, "message": message}

    def _reactions_remove(self, params: dict[str, Any]) -> dict[str, Any]:
        msg, name = self._reaction_target(params)
        if self.bot_user_id not in msg.reactions.get(name, []):
            raise ApiError("no_reaction")
        msg.reactions[name].remove(self.bot_user_id)
        if not msg.reactions[name]:
            del msg.reactions[name]
        return {}
