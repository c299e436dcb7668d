"""Web API chat methods of the fake Slack: chat.* and reactions.*.

Each acts on the calling team's channels and messages (the channel lookup and membership are in
`slack_workspaces`), and applies the checks Slack applies to text, blocks and metadata
(`no_text`, `invalid_blocks`, `msg_blocks_too_long`, ...).
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
    ephemerals: list[FakeMessage]
    _messages: dict[tuple[str, str, str], FakeMessage]  # (team, channel, ts)
    _calling_team: str  # slack_workspaces: the team of the call being answered
    _channel: Callable[..., str]  # slack_workspaces: the calling team's channel, if reachable
    bot_user_of: Callable[[str | None], str]
    bot_id_of: Callable[[str | None], str]
    _slack_file_errors: Callable[[list[Any]], list[str]]  # FileMethodsMixin's

    def _find(self, channel: str, ts: Any) -> FakeMessage:
        """The calling team's message; another team's (channel, ts) is no message here."""
        msg = self._messages.get((self._calling_team, channel, str(ts)))
        if msg is None or msg.deleted:
            raise ApiError("message_not_found")
        return msg

    @property
    def _bot(self) -> str:
        """The calling team's bot user."""
        return self.bot_user_of(self._calling_team)

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
        team = self._calling_team
        bot_id = self.bot_id_of(team)
        msg = FakeMessage(channel, self.next_ts(), self.bot_user_of(team), bot_id=bot_id, **kw)
        msg.team = team
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
        if msg.user != self._bot:
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
        if msg.user != self._bot:
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
        if self._bot in users:
            raise ApiError("already_reacted")
        users.append(self._bot)
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
        if self._bot not in msg.reactions.get(name, []):
            raise ApiError("no_reaction")
        msg.reactions[name].remove(self._bot)
        if not msg.reactions[name]:
            del msg.reactions[name]
        return {}
