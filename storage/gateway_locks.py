"""Who owns a Discord gateway shard: a lock per shard that one process holds while it serves it.

Two processes that both connected one shard would both answer every event on it. Before a
process connects a shard it takes that shard's lock, and keeps it for as long as it serves the
shard; the lock goes away by itself when the process dies, so a standby retrying it takes over.

- PostgreSQL: a session-level `pg_try_advisory_lock(GATEWAY_NAMESPACE, shard)` on one connection
  of its own. Not a pooled one: the pool hands its connections to other work, and a session lock
  would go with them. The server drops the lock when the session ends (the process died and its
  socket closed; a silent network loss takes the server's TCP keepalive to notice).
- SQLite (one machine): a non-blocking `flock` on `<database file>.shard-<n>.lock`. flock belongs
  to the open file description, so two `open()`s of the file, even in one process, exclude each
  other as two processes do; the kernel drops it when the holder's file is closed or it dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from pathlib import Path
from typing import Any, Protocol

import psycopg

from storage.db import Database
from storage.postgres_db import PostgresDatabase, shown_url
from storage.sqlite_db import SqliteDatabase

log = logging.getLogger(__name__)

# The first key of the two-key advisory locks ("shar"); the one-key WRITER_LOCK and
# MIGRATION_LOCK are another key space, so they cannot collide with these.
GATEWAY_NAMESPACE = 0x73686172


class GatewayLocks(Protocol):
    async def try_hold(self, shard_id: int) -> bool:
        """Take the shard's lock if no one holds it; True if this object holds it now."""
        ...

    async def release(self, shard_id: int) -> None: ...

    async def still_held(self) -> frozenset[int]:
        """The shards whose locks this object still holds (a lost connection loses them)."""
        ...

    async def close(self) -> None:
        """Release every lock."""
        ...


class PostgresGatewayLocks:
    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._held: set[int] = set()

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is None or self._conn.closed:
            self._held.clear()  # a new session holds nothing the old one did
            self._conn = await psycopg.AsyncConnection.connect(
                self.url, autocommit=True, application_name="draftroom gateway locks"
            )
        return self._conn

    async def try_hold(self, shard_id: int) -> bool:
        if shard_id in self._held:
            return True
        try:
            conn = await self._connection()
            cursor = await conn.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", (GATEWAY_NAMESPACE, shard_id)
            )
            row = await cursor.fetchone()
        except psycopg.Error as exc:
            log.warning("gateway lock for shard %d at %s: %s", shard_id, shown_url(self.url), exc)
            await self._drop_connection()
            return False
        if row is not None and row[0]:
            self._held.add(shard_id)
            return True
        return False

    async def release(self, shard_id: int) -> None:
        if shard_id not in self._held or self._conn is None:
            return
        self._held.discard(shard_id)
        try:
            await self._conn.execute(
                "SELECT pg_advisory_unlock(%s, %s)", (GATEWAY_NAMESPACE, shard_id)
            )
        except psycopg.Error:
            await self._drop_connection()  # its session's locks end with it

    async def still_held(self) -> frozenset[int]:
        if self._held and self._conn is not None:
            try:
                await self._conn.execute("SELECT 1")
            except psycopg.Error:
                await self._drop_connection()
        return frozenset(self._held)

    async def _drop_connection(self) -> None:
        self._held.clear()
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None

    async def close(self) -> None:
        await self._drop_connection()


class FileGatewayLocks:
    def __init__(self, database_path: Path) -> None:
        self.database_path = database_path
        self._files: dict[int, int] = {}

    def path(self, shard_id: int) -> Path:
        return self.database_path.with_name(f"{self.database_path.name}.shard-{shard_id}.lock")

    async def try_hold(self, shard_id: int) -> bool:
        if shard_id in self._files:
            return True
        fd = os.open(self.path(shard_id), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        self._files[shard_id] = fd
        return True

    async def release(self, shard_id: int) -> None:
        fd = self._files.pop(shard_id, None)
        if fd is not None:
            os.close(fd)  # closing the only descriptor of the open file drops its lock

    async def still_held(self) -> frozenset[int]:
        return frozenset(self._files)

    async def close(self) -> None:
        for shard_id in list(self._files):
            await self.release(shard_id)


def gateway_locks(db: Database) -> GatewayLocks:
    """The shard locks beside `db`: advisory locks on its server, or files next to its file."""
    if isinstance(db, PostgresDatabase):
        return PostgresGatewayLocks(db.url)
    if isinstance(db, SqliteDatabase):
        return FileGatewayLocks(db.path)
    raise TypeError(f"no gateway locks for {db!r}")
