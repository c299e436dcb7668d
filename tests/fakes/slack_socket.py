"""What the fake Slack sends TO the bot (used by `tests.fakes.slack.FakeSlack`).

- `SocketModeHub`: the Socket Mode server. It speaks what
  `slack_sdk.socket_mode.aiohttp.SocketModeClient` expects: the client gets a URL from
  `apps.connections.open` and opens a websocket on it; the server sends `{"type": "hello", ...}`
  first, then pushes envelopes `{envelope_id, type, payload, accepts_response_payload}` (events_api
  envelopes also carry `retry_attempt` and `retry_reason`) as JSON text frames; the client acks
  with `{"envelope_id": ..., "payload": {...}?}`; `{"type": "disconnect", "reason": ...}` makes it
  fetch a new URL and reconnect; its pings get pongs. With several connections each envelope goes
  to one of them at random, as on Slack.
- `SlackToBot`: the mixin FakeSlack inherits, made of `BotPayloadsMixin`
  (`slack_bot_payloads`: event_callback envelopes, message and reaction events, slash commands,
  block actions), `SignedSendersMixin` (`slack_signed_senders`: HTTP-mode requests signed like
  Slack) and `SocketModeControlsMixin` (below: pushing envelopes, waiting for acks).
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

from aiohttp import WSMsgType, web

from tests.fakes.slack_bot_payloads import BotPayloadsMixin
from tests.fakes.slack_signed_senders import Delivery, SignedSendersMixin

__all__ = [
    "ENVELOPE_TYPES",
    "Delivery",
    "SlackToBot",
    "SocketAck",
    "SocketModeControlsMixin",
    "SocketModeHub",
]

ENVELOPE_TYPES = ("events_api", "slash_commands", "interactive")
# Interactive payloads whose acknowledgement may carry a response (errors, options, ...).
_RESPONSE_PAYLOAD_INTERACTIONS = ("view_submission", "block_suggestion")


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


class SocketModeControlsMixin:
    """FakeSlack's Socket Mode controls, forwarded to its ``SocketModeHub``."""

    # Provided by FakeSlack.
    socket: SocketModeHub

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


class SlackToBot(BotPayloadsMixin, SignedSendersMixin, SocketModeControlsMixin):
    """Mixin for FakeSlack: payloads Slack sends and the two ways it sends them to the bot."""
