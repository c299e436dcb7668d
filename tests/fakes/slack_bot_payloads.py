"""Payloads the fake Slack sends to the bot, and the ts, ids and response_urls in them.

`BotPayloadsMixin` builds event_callback envelopes, `message` and reaction events, slash
command forms and `block_actions` payloads; they are sent over HTTP (`slack_signed_senders`) or
Socket Mode (`slack_socket`). Each takes `team=`, the workspace it comes from (the default team
without it): the team ids it carries, the bot it authorizes, and which team's message store a
recorded message or reaction goes to (a reaction on a message that team does not hold is
recorded nowhere).
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable
from typing import Any


class BotPayloadsMixin:
    """Payload builders; part of ``SlackToBot`` (``tests/fakes/slack_socket.py``)."""

    # Provided by FakeSlack.
    team_id: str
    app_id: str
    verification_token: str
    port: int
    _ts: int
    _counter: int
    _response_ids: dict[str, str]  # response_url id -> its team
    bot_user_of: Callable[[str | None], str]  # slack_workspaces

    def issue_trigger(self, user: str) -> str:
        raise NotImplementedError  # slack_modals: views.open takes each once, within 3 s

    def _record_user_message(
        self, team: str, channel: str, ts: str, user: str, text: str, thread_ts: str | None
    ) -> None:
        raise NotImplementedError

    def _record_reaction(
        self, team: str, added: bool, channel: str, ts: str, user: str, reaction: str
    ) -> None:
        raise NotImplementedError

    def _message_json(self, team: str, channel: str, ts: str) -> dict[str, Any] | None:
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ------------------------------------------------------------------ ids and time stamps

    def next_ts(self) -> str:
        """A new message ts, unique and increasing: "1700000000.000100", "1700000000.000200"..."""
        self._ts += 100
        return f"{self._ts // 1_000_000}.{self._ts % 1_000_000:06d}"

    def _seen_ts(self, ts: str) -> None:
        sec, _, frac = ts.partition(".")
        self._ts = max(self._ts, int(sec) * 1_000_000 + int(frac.ljust(6, "0")[:6]))

    def _next_id(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}{self._counter:08d}"

    def new_response_url(self, team: str | None = None) -> str:
        """A fresh response_url on this fake (5 uses) for an interaction in `team`; POSTs land
        in `response_url_posts`."""
        rid = secrets.token_hex(8)
        self._response_ids[rid] = team or self.team_id
        return f"{self.base_url}/response/{rid}"

    # ------------------------------------------------------------------ payload builders

    def event_callback(
        self, event: dict[str, Any], *, event_id: str | None = None, team: str | None = None
    ) -> dict[str, Any]:
        """Wrap an event of `team` in the `event_callback` envelope used by HTTP and Socket
        Mode."""
        team = team or self.team_id
        return {
            "token": self.verification_token,
            "team_id": team,
            "context_team_id": team,
            "context_enterprise_id": None,
            "api_app_id": self.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or self._next_id("Ev"),
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": team,
                    "user_id": self.bot_user_of(team),
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{secrets.token_hex(12)}",
        }

    def message_event(
        self,
        user: str,
        text: str,
        channel: str,
        ts: str | None = None,
        thread_ts: str | None = None,
        *,
        event_id: str | None = None,
        record: bool = True,
        broadcast: bool = False,
        team: str | None = None,
    ) -> dict[str, Any]:
        """A user's `message` event (envelope); `record` also stores the message, as Slack would.
        `broadcast`: a thread reply also sent to the channel (subtype `thread_broadcast`)."""
        ts = ts or self.next_ts()
        team = team or self.team_id
        self._seen_ts(ts)
        kinds = {"C": "channel", "G": "group", "D": "im"}
        event: dict[str, Any] = {
            "type": "message",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": ts,
            "event_ts": ts,
            "channel_type": kinds.get(channel[:1], "channel"),
            "team": team,
            "client_msg_id": str(uuid.uuid4()),
        }
        if thread_ts is not None:
            event["thread_ts"] = thread_ts
            parent = self._message_json(team, channel, thread_ts)
            if parent is not None:
                event["parent_user_id"] = parent["user"]
            if broadcast:
                event["subtype"] = "thread_broadcast"
                event["root"] = parent or {"type": "message", "ts": thread_ts}
        if record:
            self._record_user_message(team, channel, ts, user, text, thread_ts)
        return self.event_callback(event, event_id=event_id, team=team)

    def reaction_event(
        self,
        type: str,
        *,
        user: str,
        reaction: str,
        channel: str,
        ts: str,
        item_user: str | None = None,
        event_id: str | None = None,
        record: bool = True,
        team: str | None = None,
    ) -> dict[str, Any]:
        """A `reaction_added` / `reaction_removed` event (envelope); `record` updates the store."""
        team = team or self.team_id
        msg = self._message_json(team, channel, ts)
        event: dict[str, Any] = {
            "type": type,
            "user": user,
            "reaction": reaction,
            "item": {"type": "message", "channel": channel, "ts": ts},
            "event_ts": self.next_ts(),
        }
        if item_user or msg is not None:
            event["item_user"] = item_user or (msg or {}).get("user")
        if record:
            self._record_reaction(team, type == "reaction_added", channel, ts, user, reaction)
        return self.event_callback(event, event_id=event_id, team=team)

    def slash_command_payload(
        self,
        command: str = "/propose",
        text: str = "",
        *,
        user_id: str = "U1",
        channel_id: str = "C1",
        team: str | None = None,
    ) -> dict[str, str]:
        """The form fields of a slash command (also the Socket Mode `slash_commands` payload)."""
        team = team or self.team_id
        return {
            "token": self.verification_token,
            "team_id": team,
            "team_domain": "fake",
            "channel_id": channel_id,
            "channel_name": channel_id.lower(),
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": self.app_id,
            "is_enterprise_install": "false",
            "response_url": self.new_response_url(team),
            "trigger_id": self.issue_trigger(user_id),
        }

    def block_action_payload(
        self,
        action_id: str,
        *,
        value: str | None = None,
        user: str = "U1",
        channel: str = "C1",
        message_ts: str | None = None,
        block_id: str = "b1",
        team: str | None = None,
    ) -> dict[str, Any]:
        """A `block_actions` payload for a button click on a message."""
        team = team or self.team_id
        msg = self._message_json(team, channel, message_ts) if message_ts else None
        action = {
            "action_id": action_id,
            "block_id": block_id,
            "text": {"type": "plain_text", "text": action_id, "emoji": True},
            "type": "button",
            "action_ts": self.next_ts(),
        }
        if value is not None:
            action["value"] = value
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {
                "id": user,
                "username": user.lower(),
                "name": user.lower(),
                "team_id": team,
            },
            "api_app_id": self.app_id,
            "token": self.verification_token,
            "container": {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel,
                "is_ephemeral": False,
            },
            "trigger_id": self.issue_trigger(user),
            "team": {"id": team, "domain": "fake"},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel, "name": channel.lower()},
            "state": {"values": {}},
            "response_url": self.new_response_url(team),
            "actions": [action],
        }
        if msg is not None:
            payload["message"] = msg
        return payload
