"""What the fake Slack sends TO the bot (used by `tests.fakes.slack.FakeSlack`).

- `SocketModeHub`: the Socket Mode server. It speaks what
  `slack_sdk.socket_mode.aiohttp.SocketModeClient` expects: the client gets a URL from
  `apps.connections.open` and opens a websocket on it; the server sends `{"type": "hello", ...}`
  first, then pushes envelopes `{envelope_id, type, payload, accepts_response_payload}` (events_api
  envelopes also carry `retry_attempt` and `retry_reason`) as JSON text frames; the client acks
  with `{"envelope_id": ..., "payload": {...}?}`; `{"type": "disconnect", "reason": ...}` makes it
  fetch a new URL and reconnect; its pings get pongs. With several connections each envelope goes
  to one of them at random, as on Slack.
- `SlackToBot`: the mixin with payload builders (event_callback envelopes, message and reaction
  events, slash commands, block actions) and HTTP-mode requests signed like Slack.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import WSMsgType, web
from slack_sdk.signature import SignatureVerifier

ENVELOPE_TYPES = ("events_api", "slash_commands", "interactive")
# Interactive payloads whose acknowledgement may carry a response (errors, options, ...).
_RESPONSE_PAYLOAD_INTERACTIONS = ("view_submission", "block_suggestion")


@dataclass
class Delivery:
    """A request the fake sent to the bot in HTTP mode."""

    kind: str  # "event" | "command" | "interactive"
    url: str
    body: str
    status: int
    response: str
    elapsed: float


@dataclass
class SocketAck:
    """One acknowledgement frame received from a client."""

    envelope_id: str
    payload: dict[str, Any] | None
    time: float  # time.monotonic()
    frame: dict[str, Any] = field(default_factory=dict)


class SocketModeHub:
    """Websocket endpoint plus the bookkeeping of pushed envelopes and their acks."""

    def __init__(self, app_id: str) -> None:
        self.app_id = app_id
        self.connections: list[web.WebSocketResponse] = []
        self.connection_count = 0  # connections ever accepted
        self.pushed_envelopes: list[dict[str, Any]] = []
        self.acked_envelopes: list[SocketAck] = []
        self.other_frames: list[Any] = []  # text frames that were not acks
        self._tickets: set[str] = set()
        self._ack_waiters: dict[str, asyncio.Future[SocketAck]] = {}
        self._connected = asyncio.Condition()

    # ------------------------------------------------------------------ connection handling

    def issue_url(self, base_ws_url: str) -> str:
        ticket = secrets.token_hex(8)
        self._tickets.add(ticket)
        return f"{base_ws_url}?ticket={ticket}&app_id={self.app_id}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("ticket") not in self._tickets:
            return web.Response(status=401, text="invalid ticket")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.connections.append(ws)
        self.connection_count += 1
        await ws.send_str(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": len(self.connections),
                    "debug_info": {
                        "host": "applink-fake-1",
                        "build_number": 1,
                        "approximate_connection_time": 18060,
                    },
                    "connection_info": {"app_id": self.app_id},
                }
            )
        )
        async with self._connected:
            self._connected.notify_all()
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_text(msg.data)
        finally:
            if ws in self.connections:
                self.connections.remove(ws)
        return ws

    def _on_text(self, data: str) -> None:
        try:
            frame = json.loads(data)
        except ValueError:
            self.other_frames.append(data)
            return
        if not isinstance(frame, dict) or "envelope_id" not in frame:
            self.other_frames.append(frame)
            return
        ack = SocketAck(
            envelope_id=str(frame["envelope_id"]),
            payload=frame.get("payload"),
            time=time.monotonic(),
            frame=frame,
        )
        self.acked_envelopes.append(ack)
        waiter = self._ack_waiters.get(ack.envelope_id)
        if waiter is not None and not waiter.done():
            waiter.set_result(ack)

    async def wait_connected(self, count: int = 1, timeout: float = 5.0) -> None:
        """Wait until at least `count` clients are connected (and have been sent hello)."""
        async with asyncio.timeout(timeout), self._connected:
            await self._connected.wait_for(lambda: len(self.connections) >= count)

    async def disconnect_all(self, reason: str = "refresh_requested") -> None:
        """Send Slack's `disconnect` message; the SDK client then reconnects on a new URL."""
        frame = json.dumps(
            {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake-1"}}
        )
        for ws in list(self.connections):
            with contextlib.suppress(ConnectionError):
                await ws.send_str(frame)

    async def close(self) -> None:
        for ws in list(self.connections):
            with contextlib.suppress(Exception):
                await ws.close(code=1001, message=b"server shutdown")
        self.connections.clear()
        for waiter in self._ack_waiters.values():
            waiter.cancel()

    # ------------------------------------------------------------------ envelopes

    async def push(
        self,
        type: str,
        payload: dict[str, Any],
        *,
        retry_attempt: int = 0,
        retry_reason: str = "",
        accepts_response_payload: bool | None = None,
        envelope_id: str | None = None,
        wait_for_connection: float = 5.0,
    ) -> str:
        """Send one envelope to one connected client; returns its envelope_id."""
        if type not in ENVELOPE_TYPES:
            raise ValueError(f"unknown envelope type {type!r}")
        if not self.connections:
            await self.wait_connected(1, wait_for_connection)
        if accepts_response_payload is None:
            accepts_response_payload = type == "slash_commands" or (
                type == "interactive" and payload.get("type") in _RESPONSE_PAYLOAD_INTERACTIONS
            )
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id or str(uuid.uuid4()),
            "payload": payload,
            "type": type,
            "accepts_response_payload": accepts_response_payload,
        }
        if type == "events_api":
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = retry_reason
        eid: str = envelope["envelope_id"]
        self._ack_waiters.setdefault(eid, asyncio.get_running_loop().create_future())
        self.pushed_envelopes.append(envelope)
        await random.choice(self.connections).send_str(json.dumps(envelope))
        return eid

    async def redeliver(self, envelope_id: str, reason: str = "timeout") -> str:
        """Push the payload of an earlier envelope again, as Slack does when no ack came."""
        old = next(e for e in self.pushed_envelopes if e["envelope_id"] == envelope_id)
        return await self.push(
            old["type"],
            old["payload"],
            retry_attempt=int(old.get("retry_attempt", 0)) + 1,
            retry_reason=reason,
            accepts_response_payload=old["accepts_response_payload"],
        )

    def ack_for(self, envelope_id: str) -> SocketAck | None:
        return next((a for a in self.acked_envelopes if a.envelope_id == envelope_id), None)

    async def wait_ack(self, envelope_id: str, timeout: float = 3.0) -> SocketAck:
        """Wait for the ack of `envelope_id`; raises TimeoutError (Slack's deadline is 3 s)."""
        done = self.ack_for(envelope_id)
        if done is not None:
            return done
        waiter = self._ack_waiters.setdefault(
            envelope_id, asyncio.get_running_loop().create_future()
        )
        async with asyncio.timeout(timeout):
            return await asyncio.shield(waiter)


class SlackToBot:
    """Mixin for FakeSlack: payloads Slack sends and the two ways it sends them to the bot."""

    # Provided by FakeSlack.
    team_id: str
    app_id: str
    bot_user_id: str
    verification_token: str
    port: int
    socket: SocketModeHub
    deliveries: list[Delivery]
    _ts: int
    _counter: int
    _response_ids: set[str]

    def _record_user_message(
        self, channel: str, ts: str, user: str, text: str, thread_ts: str | None
    ) -> None:
        raise NotImplementedError

    def _record_reaction(
        self, added: bool, channel: str, ts: str, user: str, reaction: str
    ) -> None:
        raise NotImplementedError

    def _message_json(self, channel: str, ts: str) -> dict[str, Any] | None:
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

    def new_response_url(self) -> str:
        """A fresh response_url on this fake (5 uses); POSTs land in `response_url_posts`."""
        rid = secrets.token_hex(8)
        self._response_ids.add(rid)
        return f"{self.base_url}/response/{rid}"

    # ------------------------------------------------------------------ payload builders

    def event_callback(
        self, event: dict[str, Any], *, event_id: str | None = None
    ) -> dict[str, Any]:
        """Wrap an event in the `event_callback` envelope used by HTTP and Socket Mode."""
        return {
            "token": self.verification_token,
            "team_id": self.team_id,
            "context_team_id": self.team_id,
            "context_enterprise_id": None,
            "api_app_id": self.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or self._next_id("Ev"),
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.bot_user_id,
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
    ) -> dict[str, Any]:
        """A user's `message` event (envelope); `record` also stores the message, as Slack would."""
        ts = ts or self.next_ts()
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
            "team": self.team_id,
            "client_msg_id": str(uuid.uuid4()),
        }
        if thread_ts is not None:
            event["thread_ts"] = thread_ts
            parent = self._message_json(channel, thread_ts)
            if parent is not None:
                event["parent_user_id"] = parent["user"]
        if record:
            self._record_user_message(channel, ts, user, text, thread_ts)
        return self.event_callback(event, event_id=event_id)

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
    ) -> dict[str, Any]:
        """A `reaction_added` / `reaction_removed` event (envelope); `record` updates the store."""
        msg = self._message_json(channel, ts)
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
            self._record_reaction(type == "reaction_added", channel, ts, user, reaction)
        return self.event_callback(event, event_id=event_id)

    def slash_command_payload(
        self,
        command: str = "/propose",
        text: str = "",
        *,
        user_id: str = "U1",
        channel_id: str = "C1",
    ) -> dict[str, str]:
        """The form fields of a slash command (also the Socket Mode `slash_commands` payload)."""
        return {
            "token": self.verification_token,
            "team_id": self.team_id,
            "team_domain": "fake",
            "channel_id": channel_id,
            "channel_name": channel_id.lower(),
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": self.app_id,
            "is_enterprise_install": "false",
            "response_url": self.new_response_url(),
            "trigger_id": f"{self._counter}.{secrets.token_hex(6)}",
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
    ) -> dict[str, Any]:
        """A `block_actions` payload for a button click on a message."""
        msg = self._message_json(channel, message_ts) if message_ts else None
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
                "team_id": self.team_id,
            },
            "api_app_id": self.app_id,
            "token": self.verification_token,
            "container": {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel,
                "is_ephemeral": False,
            },
            "trigger_id": f"{self._counter}.{secrets.token_hex(6)}",
            "team": {"id": self.team_id, "domain": "fake"},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel, "name": channel.lower()},
            "state": {"values": {}},
            "response_url": self.new_response_url(),
            "actions": [action],
        }
        if msg is not None:
            payload["message"] = msg
        return payload

    # ------------------------------------------------------------------ HTTP mode: calls to the bot

    async def send_event(
        self,
        bot_url: str,
        event: dict[str, Any],
        *,
        signing_secret: str,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        timestamp: int | None = None,
        bad_signature: bool = False,
        timeout: float = 10.0,
    ) -> tuple[int, str]:
        """POST an event (inner event, or a full `event_callback` envelope) signed like Slack."""
        if event.get("type") != "event_callback":
            event = self.event_callback(event, event_id=event_id)
        elif event_id is not None:
            event = {**event, "event_id": event_id}
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        body = json.dumps(event)
        return await self._send_signed(
            "event", bot_url, body, "application/json", signing_secret, timestamp, bad_signature,
            headers, timeout,
        )  # fmt: skip

    async def send_command(
        self,
        bot_url: str,
        command: str = "/propose",
        text: str = "",
        *,
        signing_secret: str,
        user_id: str = "U1",
        channel_id: str = "C1",
        payload: dict[str, str] | None = None,
        timestamp: int | None = None,
        bad_signature: bool = False,
        timeout: float = 10.0,
    ) -> tuple[int, str]:
        """POST a slash command (form-encoded); its response_url points at this fake."""
        payload = payload or self.slash_command_payload(
            command, text, user_id=user_id, channel_id=channel_id
        )
        return await self._send_signed(
            "command", bot_url, urlencode(payload), "application/x-www-form-urlencoded",
            signing_secret, timestamp, bad_signature, {}, timeout,
        )  # fmt: skip

    async def send_interactive(
        self,
        bot_url: str,
        payload: dict[str, Any],
        *,
        signing_secret: str,
        timestamp: int | None = None,
        bad_signature: bool = False,
        timeout: float = 10.0,
    ) -> tuple[int, str]:
        """POST an interactive payload (form field `payload=<json>`), see block_action_payload."""
        body = urlencode({"payload": json.dumps(payload)})
        return await self._send_signed(
            "interactive", bot_url, body, "application/x-www-form-urlencoded", signing_secret,
            timestamp, bad_signature, {}, timeout,
        )  # fmt: skip

    async def _send_signed(
        self,
        kind: str,
        url: str,
        body: str,
        content_type: str,
        signing_secret: str,
        timestamp: int | None,
        bad_signature: bool,
        extra_headers: dict[str, str],
        timeout: float,
    ) -> tuple[int, str]:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        signature = SignatureVerifier(signing_secret).generate_signature(timestamp=ts, body=body)
        if bad_signature:
            signature = "v0=" + "0" * 64
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature or "",
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            **extra_headers,
        }
        start = time.monotonic()
        client_timeout = aiohttp.ClientTimeout(total=timeout)
        async with (
            aiohttp.ClientSession(timeout=client_timeout) as session,
            session.post(url, data=body.encode(), headers=headers) as resp,
        ):
            status, text = resp.status, await resp.text()
        self.deliveries.append(Delivery(kind, url, body, status, text, time.monotonic() - start))
        return status, text

    # ------------------------------------------------------------------ Socket Mode

    @property
    def acked_envelopes(self) -> list[SocketAck]:
        return self.socket.acked_envelopes

    async def wait_socket_connected(self, count: int = 1, timeout: float = 5.0) -> None:
        await self.socket.wait_connected(count, timeout)

    async def push_envelope(
        self,
        type: str,
        payload: dict[str, Any],
        *,
        retry_attempt: int = 0,
        retry_reason: str = "",
        accepts_response_payload: bool | None = None,
    ) -> str:
        """Push an `events_api` / `slash_commands` / `interactive` envelope to one connected
        client (waiting up to 5 s for one); returns its envelope_id."""
        return await self.socket.push(
            type,
            payload,
            retry_attempt=retry_attempt,
            retry_reason=retry_reason,
            accepts_response_payload=accepts_response_payload,
        )

    async def redeliver_envelope(self, envelope_id: str, reason: str = "timeout") -> str:
        """Push an earlier envelope's payload again with retry_attempt + 1 (a new envelope_id)."""
        return await self.socket.redeliver(envelope_id, reason)

    async def wait_ack(self, envelope_id: str, timeout: float = 3.0) -> SocketAck:
        return await self.socket.wait_ack(envelope_id, timeout)

    async def disconnect_sockets(self, reason: str = "refresh_requested") -> None:
        await self.socket.disconnect_all(reason)
