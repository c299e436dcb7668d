"""Gateway half of the fake Discord (see ``tests/fakes/discord.py`` for the overview).

This module holds ``GatewayMixin``: the websocket endpoint and the gateway's public API
(``dispatch_event``, ``disconnect_clients``, ``request_reconnect`` ...). It includes
``UserEventsMixin`` (``discord_user_events.py``: ``dispatch_interaction``, ``dispatch_message``,
``dispatch_reaction`` ...); opcodes, intents, sessions and connections are in
``discord_gateway_protocol.py``. ``FakeDiscord`` inherits the mixin and provides the state it
reads (users, guild, channels, messages). The helpers the REST side shares (snowflakes,
timestamps, JSON responses, API errors) are re-exported here from their modules.

Wire format, as discord.py 2.7.1 expects it:

* The client connects to ``<gateway>?v=10&encoding=json&compress=zlib-stream`` (or
  ``zstd-stream`` when the ``zstandard`` package or Python 3.14's ``compression.zstd`` is
  importable). With ``zlib-stream`` the fake answers with binary frames from one shared zlib
  context, each flushed with ``Z_SYNC_FLUSH`` (as Discord does); for ``zstd-stream`` it uses the
  same library discord.py found. discord.py only decompresses *binary* frames, so plain JSON
  text frames work too: ``FakeDiscord(gateway_compression=False)`` ignores ``compress``.
* HELLO (op 10), then IDENTIFY (op 2) is answered by READY and one GUILD_CREATE, every
  dispatch carrying a per-session sequence number ``s``. HEARTBEAT (op 1) gets HEARTBEAT_ACK
  (op 11). RESUME (op 6) replays the events sent after the client's ``seq`` (including those
  dispatched while it was disconnected) and then RESUMED; an unknown or invalidated session
  gets INVALID_SESSION (op 9, ``d: false``). REQUEST_GUILD_MEMBERS (op 8) is answered with one
  GUILD_MEMBERS_CHUNK.
* Close codes: 4001 unknown opcode, 4002 decode error, 4003 payload before IDENTIFY, 4004 bad
  token, 4005 second IDENTIFY, 4010 invalid shard, 4012 bad ``v``, 4013 invalid intents, 4014
  privileged intent not enabled for the fake application.
* Sharding: IDENTIFY's ``shard: [id, count]`` (``0 <= id < count``, else 4010) makes the session
  one shard: READY lists, GUILD_CREATE describes and every event carrying a ``guild_id`` goes to
  only the guilds whose ``(guild_id >> 22) % count`` is ``id``, as Discord routes them. A session
  without ``shard`` gets every guild.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.discord_gateway_protocol import (
    CLOSE_REASONS,
    EVENT_BUFFER,
    INTENT_GUILD_MEMBERS,
    INTENT_GUILD_MESSAGE_REACTIONS,
    INTENT_GUILD_MESSAGES,
    INTENT_GUILD_PRESENCES,
    INTENT_GUILDS,
    INTENT_MESSAGE_CONTENT,
    NOT_RESUMABLE_CODES,
    OP_DISPATCH,
    OP_HEARTBEAT,
    OP_HEARTBEAT_ACK,
    OP_HELLO,
    OP_IDENTIFY,
    OP_INVALID_SESSION,
    OP_PRESENCE_UPDATE,
    OP_RECONNECT,
    OP_REQUEST_GUILD_MEMBERS,
    OP_RESUME,
    OP_VOICE_STATE_UPDATE,
    PRIVILEGED_INTENTS,
    VALID_INTENTS,
    GatewayConnection,
    GatewayConnectionInfo,
    GatewaySession,
    zstd_compressor,
)
from tests.fakes.discord_http import bucket_hash, json_response
from tests.fakes.discord_limits import ApiError, field_error, nest_errors, too_long
from tests.fakes.discord_records import DISCORD_EPOCH_MS, Snowflakes, iso
from tests.fakes.discord_user_events import UserEventsMixin

__all__ = [
    "CLOSE_REASONS",
    "DISCORD_EPOCH_MS",
    "INTENT_GUILDS",
    "INTENT_GUILD_MEMBERS",
    "INTENT_GUILD_MESSAGES",
    "INTENT_GUILD_MESSAGE_REACTIONS",
    "INTENT_GUILD_PRESENCES",
    "INTENT_MESSAGE_CONTENT",
    "OP_DISPATCH",
    "OP_HEARTBEAT",
    "OP_HEARTBEAT_ACK",
    "OP_HELLO",
    "OP_IDENTIFY",
    "OP_INVALID_SESSION",
    "OP_PRESENCE_UPDATE",
    "OP_RECONNECT",
    "OP_REQUEST_GUILD_MEMBERS",
    "OP_RESUME",
    "OP_VOICE_STATE_UPDATE",
    "PRIVILEGED_INTENTS",
    "VALID_INTENTS",
    "ApiError",
    "GatewayConnectionInfo",
    "GatewayMixin",
    "Snowflakes",
    "bucket_hash",
    "field_error",
    "iso",
    "json_response",
    "nest_errors",
    "too_long",
]


class GatewayMixin(UserEventsMixin):
    """Websocket gateway and event helpers; mixed into ``FakeDiscord``."""

    # Provided by FakeDiscord (declared for readers; set in FakeDiscord.__init__).
    token: str
    heartbeat_interval_ms: int
    gateway_compression: bool
    privileged_intents: frozenset[str]
    guild_id: int
    extra_guilds: dict[int, str]
    bot_user_id: int
    application_id: int
    ids: Snowflakes

    def _init_gateway(self) -> None:
        self.gateway_connections: list[GatewayConnectionInfo] = []
        self.identifies: list[dict[str, Any]] = []
        self.resumes: list[dict[str, Any]] = []
        self.gateway_received: list[dict[str, Any]] = []
        self.presence_updates: list[dict[str, Any]] = []
        self.replayed_events = 0
        self.heartbeats = 0
        self._sessions: dict[str, GatewaySession] = {}
        self._live: set[GatewayConnection] = set()

    # -- public gateway API -----------------------------------------------------------------

    @property
    def identify_count(self) -> int:
        return len(self.identifies)

    @property
    def resume_count(self) -> int:
        return len([r for r in self.resumes if r.get("accepted")])

    def shard_sessions(self, shard_id: int) -> int:
        """Live sessions identified as shard ``shard_id`` (of any count)."""
        return len(
            [
                s
                for s in self._sessions.values()
                if s.connection is not None and s.shard is not None and s.shard[0] == shard_id
            ]
        )

    def shard_identifies(self, shard_id: int) -> int:
        """IDENTIFYs that asked for shard ``shard_id``."""
        return len([d for d in self.identifies if (d.get("shard") or [None])[0] == shard_id])

    @property
    def connected_sessions(self) -> int:
        """Sessions with a live, identified (or resumed) websocket."""
        return len([s for s in self._sessions.values() if s.connection is not None])

    async def disconnect_clients(self, code: int = 4000, *, resumable: bool | None = None) -> int:
        """Close every gateway websocket with ``code``; returns how many were closed.

        By default the sessions stay resumable (so discord.py RESUMEs and gets the events it
        missed) unless the code is one after which Discord forgets the session (4007, 4009,
        4004, 4010-4014). ``resumable=False`` forces a fresh IDENTIFY (discord.py then waits
        5 s in ``before_identify_hook``) and drops the missed events, like Discord does.
        """
        if resumable is None:
            resumable = code not in NOT_RESUMABLE_CODES
        conns = list(self._live)
        for conn in conns:
            if conn.session is not None:
                conn.session.resumable = conn.session.resumable and resumable
                conn.session.connection = None
        for conn in conns:
            await conn.close(code)
        return len(conns)

    def invalidate_sessions(self) -> None:
        """Forget all sessions: a later RESUME gets INVALID_SESSION (op 9, false)."""
        for session in self._sessions.values():
            session.resumable = False

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT on every live connection (the client closes and RESUMEs)."""
        for conn in list(self._live):
            await conn.send({"op": OP_RECONNECT, "d": None, "s": None, "t": None})

    async def dispatch_event(
        self, event: str, data: dict[str, Any], *, intent: int | None = None
    ) -> int:
        """Send a raw DISPATCH to every session (or buffer it while disconnected).

        ``intent`` (a bit) skips sessions that did not ask for it. Returns the number of
        sessions that got (or will get on RESUME) the event.
        """
        count = 0
        for session in list(self._sessions.values()):
            if not session.resumable:
                continue
            if intent is not None and not session.intents & intent:
                continue
            if "guild_id" in data and not session.owns(int(data["guild_id"])):
                continue
            await self._send_dispatch(session, event, self._for_session(session, event, data))
            count += 1
        return count

    # -- websocket endpoint -----------------------------------------------------------------

    async def _ws_handler(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        compress = query.get("compress")
        compression = None
        if self.gateway_compression and compress in ("zlib-stream", "zstd-stream"):
            compression = compress
            if compress == "zstd-stream" and zstd_compressor() is None:
                compression = None
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        info = GatewayConnectionInfo(request.path, query, compression, time.monotonic())
        self.gateway_connections.append(info)
        conn = GatewayConnection(ws, info)
        self._live.add(conn)
        try:
            if query.get("encoding", "json") != "json":
                await conn.close(4002)
                return ws
            if query.get("v") not in (None, "9", "10"):
                await conn.close(4012)
                return ws
            hello = {"heartbeat_interval": self.heartbeat_interval_ms, "_trace": ["fake-gateway"]}
            await conn.send({"op": OP_HELLO, "d": hello, "s": None, "t": None})
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    await conn.close(4002)
                    break
                try:
                    payload = json.loads(msg.data)
                    op = payload["op"]
                except (ValueError, KeyError, TypeError):
                    await conn.close(4002)
                    break
                self.gateway_received.append(payload)
                await self._on_payload(conn, op, payload.get("d"))
        finally:
            self._live.discard(conn)
            info.close_code = ws.close_code
            session = conn.session
            if session is not None and session.connection is conn:
                session.connection = None
                if ws.close_code in (1000, 1001):
                    # A client closing with 1000/1001 ends its session (Discord forgets it).
                    session.resumable = False
        return ws

    async def _on_payload(self, conn: GatewayConnection, op: int, d: Any) -> None:
        if op == OP_HEARTBEAT:
            self.heartbeats += 1
            await conn.send({"op": OP_HEARTBEAT_ACK, "d": None, "s": None, "t": None})
        elif op == OP_IDENTIFY:
            await self._identify(conn, d or {})
        elif op == OP_RESUME:
            await self._resume(conn, d or {})
        elif conn.session is None:
            await conn.close(4003)
        elif op == OP_PRESENCE_UPDATE:
            self.presence_updates.append(d)
        elif op == OP_REQUEST_GUILD_MEMBERS:
            await self._send_dispatch(conn.session, "GUILD_MEMBERS_CHUNK", self._members_chunk(d))
        elif op == OP_VOICE_STATE_UPDATE:
            pass
        else:
            await conn.close(4001)

    def _token_ok(self, token: Any) -> bool:
        return isinstance(token, str) and token.removeprefix("Bot ") == self.token

    async def _identify(self, conn: GatewayConnection, d: dict[str, Any]) -> None:
        self.identifies.append(d)
        if conn.session is not None:
            await conn.close(4005)
            return
        if not self._token_ok(d.get("token")):
            await conn.close(4004)
            return
        intents = d.get("intents")
        if not isinstance(intents, int) or intents & ~VALID_INTENTS:
            await conn.close(4013)
            return
        for name, bit in PRIVILEGED_INTENTS.items():
            if intents & bit and name not in self.privileged_intents:
                await conn.close(4014)
                return
        shard = d.get("shard")
        if shard is not None and not _valid_shard(shard):
            await conn.close(4010)
            return
        session = GatewaySession(secrets.token_hex(16), intents, shard)
        self._sessions[session.session_id] = session
        conn.session = session
        conn.info.session_id = session.session_id
        async with session.lock:
            session.connection = conn
            await self._send_locked(session, "READY", self._ready_payload(session))
            if intents & INTENT_GUILDS:
                for guild_id in self._guilds_of(session):
                    guild = self._guild_create_payload(guild_id)
                    await self._send_locked(session, "GUILD_CREATE", guild)

    async def _resume(self, conn: GatewayConnection, d: dict[str, Any]) -> None:
        record = dict(d, accepted=False)
        self.resumes.append(record)
        if conn.session is not None:
            await conn.close(4005)
            return
        if not self._token_ok(d.get("token")):
            await conn.close(4004)
            return
        session = self._sessions.get(d.get("session_id") or "")
        seq = d.get("seq")
        if session is None or not session.resumable or not isinstance(seq, int):
            await conn.send({"op": OP_INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        if seq > session.seq:
            await conn.close(4007)
            return
        old = session.connection
        if old is not None and old is not conn:
            session.connection = None
            await old.close(4000)
        record["accepted"] = True
        conn.session = session
        conn.info.session_id = session.session_id
        conn.info.resumed = True
        async with session.lock:
            session.connection = conn
            for frame in session.frames:
                if frame["s"] > seq:
                    self.replayed_events += 1
                    await conn.send(frame)
            await self._send_locked(session, "RESUMED", {"_trace": ["fake-gateway"]})

    async def _send_dispatch(
        self, session: GatewaySession, event: str, data: dict[str, Any]
    ) -> None:
        async with session.lock:
            await self._send_locked(session, event, data)

    async def _send_locked(self, session: GatewaySession, event: str, data: dict[str, Any]) -> None:
        session.seq += 1
        frame = {"op": OP_DISPATCH, "t": event, "s": session.seq, "d": data}
        session.frames.append(frame)
        del session.frames[:-EVENT_BUFFER]
        if session.connection is not None:
            await session.connection.send(frame)

    def _for_session(
        self, session: GatewaySession, event: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        """Blank message content for sessions without the MESSAGE_CONTENT intent."""
        if event not in ("MESSAGE_CREATE", "MESSAGE_UPDATE"):
            return data
        if session.intents & INTENT_MESSAGE_CONTENT:
            return data
        return self._strip_content(data)

    def _strip_content(self, data: dict[str, Any]) -> dict[str, Any]:
        author = (data.get("author") or {}).get("id")
        mentioned = any(m.get("id") == str(self.bot_user_id) for m in data.get("mentions", []))
        if author == str(self.bot_user_id) or mentioned:
            return data
        stripped = dict(data, content="", embeds=[], attachments=[], components=[])
        stripped.pop("poll", None)
        return stripped

    def _guilds_of(self, session: GatewaySession) -> list[int]:
        return [g for g in [self.guild_id, *self.extra_guilds] if session.owns(g)]

    def _ready_payload(self, session: GatewaySession) -> dict[str, Any]:
        payload = {
            "v": 10,
            "user": self._user_payload(self.bot_user_id, full=True),
            "guilds": [{"id": str(g), "unavailable": True} for g in self._guilds_of(session)],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self.resume_gateway_url,
            "application": {"id": str(self.application_id), "flags": self._application_flags()},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["fake"],
            "user_settings": {},
            "_trace": ["fake-gateway"],
        }
        if session.shard is not None:
            payload["shard"] = session.shard
        return payload


def _valid_shard(shard: Any) -> bool:
    if not (isinstance(shard, list) and len(shard) == 2):
        return False
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in shard):
        return False
    return 0 <= shard[0] < shard[1]
