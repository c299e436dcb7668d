"""A process's sign of life that ends with it: how a process restarted on PostgreSQL resumes its
predecessor's runs in seconds instead of waiting out the lease.

The heartbeat (storage/processes.py) can only tell a process has stopped once it has been silent
for the whole lease (a minute), since a slow machine must not be taken for dead. So each process
also holds a session advisory lock keyed by its id, `(LIVENESS_NAMESPACE, hashtext(id))`, on a
connection of its own (a pooled one would hand the session to other work). The server drops it
the moment the process dies (its socket closes; a silent network loss takes TCP keepalive), and
`pg_locks` shows every session's advisory locks to every other, so a sweep can tell a dead process
from a slow one at once: no lock, and no heartbeat for LIVENESS_GRACE_BEATS beats, is dead.

The grace covers a live process whose lock connection dropped (a server restart ends every
session): it takes its lock again on its next beat. A hash collision can only make a dead process
look alive, which costs the wait for the lease, as before. SQLite needs none of this: one process
uses the file, and at start it takes over everything.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any, Protocol

import psycopg

from storage.db import Database
from storage.postgres_db import PostgresDatabase, shown_url

log = logging.getLogger(__name__)

# The first key of the two-key lock ("live"); GATEWAY_NAMESPACE and EXCLUSIVE_NS are others.
LIVENESS_NAMESPACE = 0x6C697665
# No lock held and this many heartbeats missed: the process is dead.
LIVENESS_GRACE_BEATS = 2

# In SQL: the process `id` (a column or a parameter) holds its liveness lock now.
HOLDS_LIVENESS_LOCK = (
    "EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted"
    f" AND l.objsubid = 2 AND l.classid = {LIVENESS_NAMESPACE}::oid"
    " AND l.objid = hashtext({id})::oid)"
)


class Liveness(Protocol):
    async def hold(self) -> None:
        """Take the lock if this process does not hold it now (first, or after a lost
        connection); a failure is logged, and the next beat tries again."""
        ...

    async def release(self) -> None: ...


class PostgresLiveness:
    def __init__(self, url: str, process: str) -> None:
        self.url, self.process = url, process
        self._conn: psycopg.AsyncConnection[Any] | None = None

    async def hold(self) -> None:
        if self._conn is not None and not self._conn.closed:
            try:
                await self._conn.execute("SELECT 1")
                return
            except psycopg.Error:
                await self.release()
        try:
            self._conn = await psycopg.AsyncConnection.connect(
                self.url, autocommit=True, application_name="draftroom liveness"
            )
            # `try`: a session holding the same hash (a collision) must not block the start.
            await self._conn.execute(
                "SELECT pg_try_advisory_lock(%s, hashtext(%s))", (LIVENESS_NAMESPACE, self.process)
            )
        except psycopg.Error as exc:
            log.warning("liveness lock at %s: %s", shown_url(self.url), exc)
            await self.release()

    async def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()  # the session's lock ends with it
            self._conn = None


class NoLiveness:
    async def hold(self) -> None:
        return None

    async def release(self) -> None:
        return None


def liveness(db: Database, process: str) -> Liveness:
    if isinstance(db, PostgresDatabase):
        return PostgresLiveness(db.url, process)
    return NoLiveness()
