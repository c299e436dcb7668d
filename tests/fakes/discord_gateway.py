"""Gateway half of the fake Discord (see ``tests/fakes/discord.py`` for the overview).

This module holds the pieces the REST side shares (snowflakes, timestamps, JSON responses,
API errors) and ``GatewayMixin``: the websocket endpoint plus the helpers that push events
(``dispatch_interaction``, ``dispatch_message``, ``dispatch_reaction`` ...). ``FakeDiscord``
inherits the mixin and provides the state it reads (users, guild, channels, messages).

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
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import itertools
import json
import secrets
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

DISCORD_EPOCH_MS = 1420070400000

OP_DISPATCH = 0
OP_HEARTBEAT = 1
OP_IDENTIFY = 2
OP_PRESENCE_UPDATE = 3
OP_VOICE_STATE_UPDATE = 4
OP_RESUME = 6
OP_RECONNECT = 7
OP_REQUEST_GUILD_MEMBERS = 8
OP_INVALID_SESSION = 9
OP_HELLO = 10
OP_HEARTBEAT_ACK = 11

INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_GUILD_MESSAGE_REACTIONS = 1 << 10
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = {
    "members": INTENT_GUILD_MEMBERS,
    "presences": INTENT_GUILD_PRESENCES,
    "message_content": INTENT_MESSAGE_CONTENT,
}
# Every intent bit Discord defines (0-16, 20, 21, 24, 25).
VALID_INTENTS = sum(1 << b for b in (*range(17), 20, 21, 24, 25))

CLOSE_REASONS = {
    1000: "Normal closure",
    1001: "Going away",
    4000: "Unknown error",
    4001: "Unknown opcode",
    4002: "Decode error",
    4003: "Not authenticated",
    4004: "Authentication failed",
    4005: "Already authenticated",
    4007: "Invalid seq",
    4008: "Rate limited",
    4009: "Session timed out",
    4010: "Invalid shard",
    4011: "Sharding required",
    4012: "Invalid API version",
    4013: "Invalid intent(s)",
    4014: "Disallowed intent(s)",
}
# After these the session cannot be resumed (4004 and 4010-4014 also end the client).
_NOT_RESUMABLE_CODES = {4004, 4007, 4009, 4010, 4011, 4012, 4013, 4014}
_EVENT_BUFFER = 2000


# -- shared helpers -------------------------------------------------------------------------


class Snowflakes:
    """Discord-style ids: milliseconds since 2015 << 22 | worker | increment, always rising."""

    def __init__(self) -> None:
        self._last = 0
        self._inc = itertools.count()

    def next(self) -> int:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        value = (ms << 22) | (1 << 17) | (next(self._inc) & 0xFFF)
        self._last = max(value, self._last + 1)
        return self._last


def iso(ts: float | None = None) -> str:
    """An ISO 8601 timestamp in Discord's format (microseconds, +00:00)."""
    moment = dt.datetime.fromtimestamp(time.time() if ts is None else ts, dt.UTC)
    return moment.isoformat(timespec="microseconds")


def bucket_hash(route: str) -> str:
    return hashlib.sha1(route.encode()).hexdigest()[:32]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None):
    """A JSON response whose Content-Type is exactly ``application/json``.

    discord.py compares the header for equality, so aiohttp's ``json_response`` (which adds
    ``; charset=utf-8``) would make it treat every body as text.
    """
    hdrs = {"Content-Type": "application/json"}
    hdrs.update(headers or {})
    return web.Response(status=status, body=json.dumps(body).encode(), headers=hdrs)


def field_error(code: str, message: str) -> dict[str, Any]:
    return {"_errors": [{"code": code, "message": message}]}


def nest_errors(path: list[str], error: dict[str, Any], into: dict[str, Any]) -> None:
    node = into
    for part in path:
        node = node.setdefault(part, {})
    node.update(error)


class ApiError(Exception):
    """Raised by REST handlers; becomes Discord's ``{"message", "code"[, "errors"]}`` body."""

    def __init__(self, status: int, code: int, message: str, errors: dict | None = None):
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.body: dict[str, Any] = {"message": message, "code": code}
        if errors:
            self.body["errors"] = errors

    @classmethod
    def invalid_form(cls, errors: dict[str, Any]) -> ApiError:
        return cls(400, 50035, "Invalid Form Body", errors)


def too_long(limit: int) -> dict[str, Any]:
    return field_error("BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


# -- gateway state --------------------------------------------------------------------------


@dataclass
class GatewayConnectionInfo:
    """One websocket connection as the fake saw it."""

    path: str
    query: dict[str, str]
    compression: str | None
    opened_at: float
    session_id: str | None = None
    resumed: bool = False
    close_code: int | None = None


@dataclass
class _Session:
    session_id: str
    intents: int
    shard: list[int] | None
    seq: int = 0
    frames: list[dict[str, Any]] = field(default_factory=list)
    connection: _Connection | None = None
    resumable: bool = True
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class _Connection:
    def __init__(self, ws: web.WebSocketResponse, info: GatewayConnectionInfo) -> None:
        self.ws = ws
        self.info = info
        self.session: _Session | None = None
        self.lock = asyncio.Lock()
        self._zlib = zlib.compressobj() if info.compression == "zlib-stream" else None
        self._zstd = _zstd_compressor() if info.compression == "zstd-stream" else None

    async def send(self, payload: dict[str, Any]) -> None:
        text = json.dumps(payload)
        async with self.lock:
            if self.ws.closed:
                return
            try:
                if self._zlib is not None:
                    data = self._zlib.compress(text.encode()) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
                    await self.ws.send_bytes(data)
                elif self._zstd is not None:
                    await self.ws.send_bytes(self._zstd(text.encode()))
                else:
                    await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                pass

    async def close(self, code: int) -> None:
        if not self.ws.closed:
            await self.ws.close(code=code, message=CLOSE_REASONS.get(code, "").encode())


def _zstd_compressor():
    """Per-connection zstd stream, one flushed block per message (None if unavailable)."""
    try:
        from compression import zstd  # type: ignore[import-not-found]  # Python 3.14+

        comp = zstd.ZstdCompressor()
        return lambda data: comp.compress(data, mode=zstd.ZstdCompressor.FLUSH_BLOCK)
    except ImportError:
        pass
    try:
        import zstandard  # type: ignore[import-not-found]

        obj = zstandard.ZstdCompressor().compressobj()
        return lambda data: obj.compress(data) + obj.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
    except ImportError:
        return None


class GatewayMixin:
    """Websocket gateway and event helpers; mixed into ``FakeDiscord``."""

    # Provided by FakeDiscord (declared for readers; set in FakeDiscord.__init__).
    token: str
    heartbeat_interval_ms: int
    gateway_compression: bool
    privileged_intents: frozenset[str]
    guild_id: int
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
        self._sessions: dict[str, _Session] = {}
        self._live: set[_Connection] = set()

    # -- public gateway API -----------------------------------------------------------------

    @property
    def identify_count(self) -> int:
        return len(self.identifies)

    @property
    def resume_count(self) -> int:
        return len([r for r in self.resumes if r.get("accepted")])

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
            resumable = code not in _NOT_RESUMABLE_CODES
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
            if compress == "zstd-stream" and _zstd_compressor() is None:
                compression = None
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        info = GatewayConnectionInfo(request.path, query, compression, time.monotonic())
        self.gateway_connections.append(info)
        conn = _Connection(ws, info)
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

    async def _on_payload(self, conn: _Connection, op: int, d: Any) -> None:
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

    async def _identify(self, conn: _Connection, d: dict[str, Any]) -> None:
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
        if shard is not None and not (0 <= shard[0] < shard[1]):
            await conn.close(4010)
            return
        session = _Session(secrets.token_hex(16), intents, shard)
        self._sessions[session.session_id] = session
        conn.session = session
        conn.info.session_id = session.session_id
        async with session.lock:
            session.connection = conn
            await self._send_locked(session, "READY", self._ready_payload(session))
            if intents & INTENT_GUILDS:
                await self._send_locked(session, "GUILD_CREATE", self._guild_create_payload())

    async def _resume(self, conn: _Connection, d: dict[str, Any]) -> None:
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

    async def _send_dispatch(self, session: _Session, event: str, data: dict[str, Any]) -> None:
        async with session.lock:
            await self._send_locked(session, event, data)

    async def _send_locked(self, session: _Session, event: str, data: dict[str, Any]) -> None:
        session.seq += 1
        frame = {"op": OP_DISPATCH, "t": event, "s": session.seq, "d": data}
        session.frames.append(frame)
        del session.frames[:-_EVENT_BUFFER]
        if session.connection is not None:
            await session.connection.send(frame)

    def _for_session(self, session: _Session, event: str, data: dict[str, Any]) -> dict[str, Any]:
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

    def _ready_payload(self, session: _Session) -> dict[str, Any]:
        payload = {
            "v": 10,
            "user": self._user_payload(self.bot_user_id, full=True),
            "guilds": [{"id": str(self.guild_id), "unavailable": True}],
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

    # -- event helpers ----------------------------------------------------------------------

    async def dispatch_message(
        self,
        channel_id: int,
        content: str,
        author_id: int,
        message_id: int | None = None,
        *,
        embeds: list[dict[str, Any]] | None = None,
        reply_to: int | None = None,
    ) -> dict[str, Any]:
        """A user posts a message (MESSAGE_CREATE); works in threads created over REST.

        Returns the stored message (as the REST API would return it).
        """
        body: dict[str, Any] = {"content": content, "embeds": embeds or []}
        if reply_to is not None:
            body["message_reference"] = {"message_id": str(reply_to)}
        return await self._create_message(
            channel_id, author_id, body, [], message_id=message_id, validate=False
        )

    async def dispatch_reaction(
        self,
        channel_id: int,
        message_id: int,
        user_id: int,
        emoji: str = "✅",
        add: bool = True,
    ) -> None:
        """A user adds (or removes) a reaction: state changes, then MESSAGE_REACTION_ADD/REMOVE.

        ``emoji`` is a unicode emoji or ``name:id`` for a custom one.
        """
        msg = self._get_message(channel_id, message_id)
        self._ensure_user(user_id)
        changed = self._set_reaction(channel_id, message_id, emoji, user_id, add)
        if changed:
            await self._dispatch_reaction_event(msg, emoji, user_id, add)

    async def _dispatch_reaction_event(
        self, msg: dict[str, Any], emoji: str, user_id: int, add: bool
    ) -> None:
        data: dict[str, Any] = {
            "user_id": str(user_id),
            "type": 0,
            "message_id": msg["id"],
            "channel_id": msg["channel_id"],
            "guild_id": str(self.guild_id),
            "emoji": self._partial_emoji(emoji),
            "burst": False,
        }
        if add:
            data["member"] = self._member_payload(user_id)
            data["message_author_id"] = msg["author"]["id"]
            data["burst_colors"] = []
        event = "MESSAGE_REACTION_ADD" if add else "MESSAGE_REACTION_REMOVE"
        await self.dispatch_event(event, data, intent=INTENT_GUILD_MESSAGE_REACTIONS)

    async def dispatch_interaction(
        self,
        name: str,
        options: dict[str, Any] | list[dict[str, Any]] | None = None,
        user_id: int | None = None,
        channel_id: int | None = None,
        *,
        focused: str | None = None,
        locale: str = "en-US",
    ) -> Any:
        """A user runs slash command ``name`` (``"group sub"`` for subcommands).

        ``options`` maps option names to Python values; their Discord types come from the
        synced command schema when the command was synced (``tree.sync``), else from the
        values (str 3, int 4, bool 5, float 10). User/channel/role options (6/7/8) take ids
        and get a ``resolved`` section. Raw option dicts may be passed as a list instead.
        ``focused`` names an option and makes this an autocomplete interaction (type 4).
        Returns a ``FakeInteraction`` (``.id``, ``.token``, ``.payload``, responses ...).
        """
        user_id = self.approver_id if user_id is None else user_id
        channel_id = self.channel_id if channel_id is None else channel_id
        command, guild_scoped = self._find_command(name.split()[0])
        data: dict[str, Any] = {
            "id": str(command["id"]) if command else str(self.ids.next()),
            "name": name.split()[0],
            "type": 1,
        }
        if guild_scoped:
            data["guild_id"] = str(self.guild_id)
        schema = command.get("options", []) if command else None
        resolved: dict[str, dict[str, Any]] = {}
        built = self._build_options(name.split()[1:], options, schema, focused, resolved)
        if built:
            data["options"] = built
        if resolved:
            data["resolved"] = resolved
        kind = 4 if focused else 2
        return await self._send_interaction(kind, data, user_id, channel_id, locale)

    async def dispatch_component(
        self,
        channel_id: int,
        message_id: int,
        custom_id: str,
        user_id: int | None = None,
        *,
        component_type: int = 2,
        values: list[str] | None = None,
    ) -> Any:
        """A user clicks a button (or picks select ``values``) on a message (type 3)."""
        msg = self._get_message(channel_id, message_id)
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = values
        user_id = self.approver_id if user_id is None else user_id
        return await self._send_interaction(3, data, user_id, channel_id, "en-US", message=msg)

    async def _send_interaction(
        self,
        kind: int,
        data: dict[str, Any],
        user_id: int,
        channel_id: int,
        locale: str,
        message: dict[str, Any] | None = None,
    ) -> Any:
        self._ensure_user(user_id)
        channel = self._get_channel(channel_id)
        interaction_id = self.ids.next()
        token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48)
        perms = str(self._permissions_of(user_id))
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": kind,
            "data": data,
            "guild_id": str(self.guild_id),
            "guild": {"id": str(self.guild_id), "locale": "en-US", "features": []},
            "channel_id": str(channel_id),
            "channel": dict(channel, permissions=perms),
            "member": dict(self._member_payload(user_id), permissions=perms),
            "token": token,
            "version": 1,
            "app_permissions": str(self._permissions_of(self.bot_user_id)),
            "locale": locale,
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(self.guild_id)},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if message is not None:
            payload["message"] = message
        record = self._register_interaction(interaction_id, token, kind, data, user_id, payload)
        await self.dispatch_event("INTERACTION_CREATE", payload)
        return record

    def _build_options(
        self,
        path: list[str],
        options: dict[str, Any] | list[dict[str, Any]] | None,
        schema: list[dict[str, Any]] | None,
        focused: str | None,
        resolved: dict[str, dict[str, Any]],
    ) -> list[dict[str, Any]]:
        if path:
            sub_schema = None
            if schema is not None:
                match = [o for o in schema if o["name"] == path[0] and o["type"] in (1, 2)]
                if not match:
                    raise ValueError(f"synced command has no subcommand {path[0]!r}")
                sub_schema = match[0].get("options", [])
            kind = 2 if len(path) > 1 else 1
            inner = self._build_options(path[1:], options, sub_schema, focused, resolved)
            return [{"name": path[0], "type": kind, "options": inner}]
        if options is None:
            return []
        if isinstance(options, list):
            return options
        built = []
        for opt_name, value in options.items():
            declared = None
            if schema is not None:
                declared = next((o for o in schema if o["name"] == opt_name), None)
                if declared is None:
                    raise ValueError(f"synced command has no option {opt_name!r}")
            kind = declared["type"] if declared else _infer_option_type(value)
            entry: dict[str, Any] = {"name": opt_name, "type": kind}
            if opt_name == focused:
                entry["focused"] = True
                entry["value"] = str(value)
            else:
                entry["value"] = self._option_value(kind, value, resolved)
            built.append(entry)
        return built

    def _option_value(self, kind: int, value: Any, resolved: dict[str, dict[str, Any]]) -> Any:
        if kind in (6, 9) and int(value) in self.users:
            uid = int(value)
            resolved.setdefault("users", {})[str(uid)] = self._user_payload(uid)
            member = self._member_payload(uid, with_user=False)
            member["permissions"] = str(self._permissions_of(uid))
            resolved.setdefault("members", {})[str(uid)] = member
            return str(uid)
        if kind == 7:
            channel = dict(self._get_channel(int(value)))
            channel["permissions"] = str(self._permissions_of(self.bot_user_id))
            resolved.setdefault("channels", {})[str(value)] = channel
            return str(value)
        if kind in (8, 9):
            role = next((r for r in self.roles if r["id"] == str(value)), None)
            if role is not None:
                resolved.setdefault("roles", {})[str(value)] = role
            return str(value)
        if kind == 11:
            filename, blob = value
            attachment = self._store_attachment(self.channel_id, filename, blob, None, None)
            resolved.setdefault("attachments", {})[attachment["id"]] = attachment
            return attachment["id"]
        return value


def _infer_option_type(value: Any) -> int:
    if isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return 4
    if isinstance(value, float):
        return 10
    return 3
