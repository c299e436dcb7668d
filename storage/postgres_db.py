"""The PostgreSQL database: a psycopg 3 pool, the same interface and promises as SQLite's.

Storage modules write `?` placeholders; `_translate` turns them into psycopg's `%s` (doubling a
literal `%`). Every write transaction takes one advisory lock (`WRITER_LOCK`) for its length, so
writes are serialised across all processes on the database as SQLite serialises them in one:
a read-then-write inside a transaction can lose no update, and the budget, claims and approvals
keep the rules they were written for. Writes are short (no network call inside one), so one lock
costs little beside the provider calls the workers wait on. Reads take any pooled connection in
autocommit, each statement its own snapshot, as SQLite's reader does.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import psycopg_pool
from psycopg.adapt import Loader
from psycopg.rows import RowMaker
from psycopg_pool import AsyncConnectionPool

from storage.db import Connection, Cursor, Dialect, NamedLocks, ReaderQueries, Row
from storage.sqlite_db import migrations
from storage.unusable import DatabaseUnusableError, one_line

WRITER_LOCK = 0x64726166  # "draf": held by every write transaction
MIGRATION_LOCK = 0x6D696772  # "migr": two processes starting at once migrate once
EXCLUSIVE_NS = 0x706F7374  # "post": `exclusive()` locks, (namespace, hash of the name)
# Connections that hold `exclusive()` locks, from a pool of their own: a holder's work needs the
# main pool, so holders taking its connections could starve themselves (40 drafts posted at once
# did, with a pool of 20).
EXCLUSIVE_CONNECTIONS = 4

# A string literal is matched whole, so that a `?` in it (`COALESCE(x, '?')`) stays text.
_PLACEHOLDER = re.compile(r"'[^']*'|%|\?")


@functools.lru_cache(maxsize=2048)
def _translate(sql: str) -> str:
    return _PLACEHOLDER.sub(
        lambda m: "%s" if m.group(0) == "?" else m.group(0).replace("%", "%%"), sql
    )


class Record:
    """A row by position or by name, as `sqlite3.Row` is."""

    __slots__ = ("_names", "_values")

    def __init__(self, names: dict[str, int], values: Sequence[Any]) -> None:
        self._names = names
        self._values = values

    def __getitem__(self, key: int | str, /) -> Any:
        return self._values[self._names[key] if isinstance(key, str) else key]

    def keys(self) -> list[str]:
        return list(self._names)

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __repr__(self) -> str:
        return f"Record({dict(zip(self._names, self._values, strict=True))!r})"


def _records(cursor: psycopg.AsyncCursor[Any]) -> RowMaker[Record]:
    names = {column.name: i for i, column in enumerate(cursor.description or ())}
    return lambda values: Record(names, values)


class _NumberLoader(Loader):
    """`numeric` (what SUM of integers gives) as an int when whole, else a float, as SQLite."""

    def load(self, data: Any) -> int | float:
        text = bytes(data).decode()
        return float(text) if any(c in text for c in ".eEN") else int(text)


class _Result:
    __slots__ = ("rowcount",)

    def __init__(self, rowcount: int) -> None:
        self.rowcount = rowcount


class PostgresConnection:
    """One pooled psycopg connection as the storage interface's `Connection`."""

    __slots__ = ("raw",)
    dialect: Dialect = "postgres"

    def __init__(self, raw: psycopg.AsyncConnection[Any]) -> None:
        self.raw = raw

    async def execute(self, sql: str, parameters: Iterable[Any] = (), /) -> Cursor:
        cursor = await self.raw.execute(_translate(sql), tuple(parameters))
        return _Result(cursor.rowcount)

    async def execute_fetchall(self, sql: str, parameters: Iterable[Any] = (), /) -> Sequence[Row]:
        cursor = await self.raw.execute(_translate(sql), tuple(parameters))
        return await cursor.fetchall() if cursor.description else []

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]], /) -> None:
        async with self.raw.cursor() as cursor:
            await cursor.executemany(_translate(sql), [tuple(p) for p in parameters])


class _PooledReader:
    """The reader: each call on whichever pooled connection is free."""

    dialect: Dialect = "postgres"

    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self.pool = pool

    async def execute(self, sql: str, parameters: Iterable[Any] = (), /) -> Cursor:
        async with self.pool.connection() as raw:
            return await PostgresConnection(raw).execute(sql, parameters)

    async def execute_fetchall(self, sql: str, parameters: Iterable[Any] = (), /) -> Sequence[Row]:
        async with self.pool.connection() as raw:
            return await PostgresConnection(raw).execute_fetchall(sql, parameters)

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]], /) -> None:
        async with self.pool.connection() as raw:
            await PostgresConnection(raw).executemany(sql, parameters)


def shown_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit((parts.scheme, f"{user}{host}{port}", parts.path, "", ""))


class PostgresDatabase(ReaderQueries):
    dialect: Dialect = "postgres"

    def __init__(self, url: str, *, max_connections: int = 20) -> None:
        self.url = url
        self.shown = shown_url(url)
        self.max_connections = max_connections
        self._pool: AsyncConnectionPool[Any] | None = None
        self._reader: _PooledReader | None = None
        self._write_lock = asyncio.Lock()  # waits here, not holding a pooled connection
        self._lock_pool: AsyncConnectionPool[Any] | None = None
        self._lock_pool_opening = asyncio.Lock()
        # One waiter per name per process on the server; the others wait here, holding nothing.
        self._turns = NamedLocks()

    def __repr__(self) -> str:
        return f"PostgresDatabase({self.shown!r})"

    async def open(self) -> PostgresDatabase:
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            self.url,
            min_size=1,
            max_size=self.max_connections,
            open=False,
            kwargs={"autocommit": True, "row_factory": _records},
            configure=_configure,
        )
        try:
            await pool.open(wait=True, timeout=15)
            self._pool = pool
            await self._migrate()
        except BaseException as exc:
            self._pool = None
            with contextlib.suppress(Exception):
                await asyncio.shield(pool.close())
            if isinstance(exc, psycopg_pool.PoolTimeout | psycopg.OperationalError):
                raise DatabaseUnusableError(
                    self.shown,
                    f"cannot be reached ({one_line(str(exc))})",
                    "check DATABASE_URL and that the server runs and accepts this user",
                ) from exc
            raise
        self._reader = _PooledReader(pool)
        return self

    async def close(self) -> None:
        pool, self._pool, self._reader = self._pool, None, None
        lock_pool, self._lock_pool = self._lock_pool, None
        if lock_pool is not None:
            await lock_pool.close()
        if pool is not None:
            await pool.close()

    async def __aenter__(self) -> PostgresDatabase:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def pool(self) -> AsyncConnectionPool[Any]:
        if self._pool is None:
            raise RuntimeError("database is not open")
        return self._pool

    @property
    def reader(self) -> Connection:
        if self._reader is None:
            raise RuntimeError("database is not open")
        return self._reader

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        async with self._write_lock, self.pool.connection() as raw:
            conn = PostgresConnection(raw)
            try:
                await raw.execute("BEGIN")
                await raw.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK,))
                yield conn
                await asyncio.shield(raw.execute("COMMIT"))
            except BaseException:
                # Shielded so that a cancelled task leaves no half-written rows; when the
                # connection is in no state to roll back, the pool discards it, and the server
                # rolls back what it had.
                with contextlib.suppress(psycopg.Error):
                    await asyncio.shield(raw.execute("ROLLBACK"))
                raise

    @contextlib.asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[None]:
        """A session advisory lock for as long as the block runs, on a connection of the lock
        pool: a process killed while holding it loses it with its session."""
        async with self._turns(name), (await self._locks()).connection(timeout=None) as raw:
            await raw.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (EXCLUSIVE_NS, name))
            try:
                yield
            finally:
                with contextlib.suppress(psycopg.Error):  # a broken session has let it go
                    await asyncio.shield(
                        raw.execute(
                            "SELECT pg_advisory_unlock(%s, hashtext(%s))", (EXCLUSIVE_NS, name)
                        )
                    )

    async def _locks(self) -> AsyncConnectionPool[Any]:
        self.pool  # noqa: B018 - refuses the same way when the database is not open
        async with self._lock_pool_opening:
            if self._lock_pool is None:
                pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
                    self.url, min_size=1, max_size=EXCLUSIVE_CONNECTIONS, open=False,
                    kwargs={"autocommit": True},
                )  # fmt: skip
                await pool.open(wait=True, timeout=15)
                self._lock_pool = pool
            return self._lock_pool

    async def _migrate(self) -> None:
        known = migrations("migrations_pg")
        newest = max((number for number, _ in known), default=0)
        async with self.pool.connection() as raw, raw.transaction():
            await raw.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            await raw.execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
            rows = await (await raw.execute("SELECT MAX(version) FROM schema_version")).fetchall()
            current = int(rows[0][0] or 0)
            if current > newest:
                raise DatabaseUnusableError(
                    self.shown,
                    f"was written by a newer draftroom (schema {current}, this version knows "
                    f"{newest})",
                    "upgrade draftroom, or point DATABASE_URL at another database",
                )
            for number, sql in known:
                if number > current:
                    await raw.execute(sql.encode())  # our own files, no parameters
                    await raw.execute("INSERT INTO schema_version VALUES (%s)", (number,))


async def _configure(conn: psycopg.AsyncConnection[Any]) -> None:
    conn.adapters.register_loader("numeric", _NumberLoader)
