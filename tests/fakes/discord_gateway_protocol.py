"""Wire level of the fake Discord gateway: opcodes, intents, close codes, sessions with their
replay buffer, and (optionally compressed) websocket connections.

The websocket endpoint that uses them is ``GatewayMixin`` in ``tests/fakes/discord_gateway.py``.
"""

from __future__ import annotations

import asyncio
import json
import zlib
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

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
NOT_RESUMABLE_CODES = {4004, 4007, 4009, 4010, 4011, 4012, 4013, 4014}
EVENT_BUFFER = 2000


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
class GatewaySession:
    session_id: str
    intents: int
    shard: list[int] | None
    seq: int = 0
    frames: list[dict[str, Any]] = field(default_factory=list)
    connection: GatewayConnection | None = None
    resumable: bool = True
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def owns(self, guild_id: int) -> bool:
        """Whether this session's shard gets the guild's events (Discord's sharding formula)."""
        if self.shard is None:
            return True
        shard_id, count = self.shard
        return (guild_id >> 22) % count == shard_id


class GatewayConnection:
    def __init__(self, ws: web.WebSocketResponse, info: GatewayConnectionInfo) -> None:
        self.ws = ws
        self.info = info
        self.session: GatewaySession | None = None
        self.lock = asyncio.Lock()
        self._zlib = zlib.compressobj() if info.compression == "zlib-stream" else None
        self._zstd = zstd_compressor() if info.compression == "zstd-stream" else None

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


def zstd_compressor():
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
