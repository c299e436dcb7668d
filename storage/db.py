"""The storage interface both databases speak, and the helpers every storage module uses.

Storage modules write one SQL: `?` placeholders and what SQLite and PostgreSQL both accept
(`ON CONFLICT`, `RETURNING`; no two-argument `MAX`, no bare column beside an aggregate). Where
the two differ for real (full-text search, dates), a module asks `conn.dialect`. Nothing above
`storage/` knows which one runs: `storage.backend.database()` picks it.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal, Protocol

Dialect = Literal["sqlite", "postgres"]


class Row(Protocol):
    """A result row: by position (`row[0]`) or by column name (`row["id"]`)."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def keys(self) -> list[str]: ...

    def __len__(self) -> int: ...


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...


class Connection(Protocol):
    """One database session: the writer inside `transaction()`, or the reader."""

    @property
    def dialect(self) -> Dialect: ...

    async def execute(self, sql: str, parameters: Iterable[Any] = (), /) -> Cursor: ...

    async def execute_fetchall(
        self, sql: str, parameters: Iterable[Any] = (), /
    ) -> Sequence[Row]: ...

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]], /) -> None: ...


class Database(Protocol):
    """Opened once by the composition root; `transaction()` is the one way to write.

    A transaction is all or nothing, cancellation included, and transactions never interleave:
    on SQLite one writer connection behind a lock, on PostgreSQL an advisory lock held for the
    transaction, so a read-then-write inside one sees no other writer's change (no lost update),
    across every process on the database."""

    @property
    def dialect(self) -> Dialect: ...

    @property
    def reader(self) -> Connection: ...

    async def open(self) -> Database: ...

    async def close(self) -> None: ...

    async def __aenter__(self) -> Database: ...

    async def __aexit__(self, *exc: object) -> None: ...

    def transaction(self) -> AbstractAsyncContextManager[Connection]: ...

    def exclusive(self, name: str) -> AbstractAsyncContextManager[None]:
        """Held by one caller at a time across the database (for a network call that must
        not be made twice at once, such as posting a message under its delivery key). SQLite:
        one process uses the file, so a lock in the process per file and name."""
        ...

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]: ...

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row | None: ...

    async def scalar(self, sql: str, params: Iterable[Any] = ()) -> Any: ...


class NamedLocks:
    """One asyncio lock per name, kept while someone holds it or waits for it: how the callers
    of one process take turns at `Database.exclusive` before (PostgreSQL) or instead of
    (SQLite) the database's own turn."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def __call__(self, name: str) -> asyncio.Lock:
        lock = self._locks.get(name)
        if lock is None:
            lock = self._locks[name] = asyncio.Lock()
        return lock


class ReaderQueries:
    """`fetchall`, `fetchone` and `scalar` on the database's reader: alike on both databases."""

    @property
    def reader(self) -> Connection:
        raise NotImplementedError

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        return list(await self.reader.execute_fetchall(sql, params))

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        rows = await self.reader.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def scalar(self, sql: str, params: Iterable[Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]


async def fetchone(conn: Connection, sql: str, params: Iterable[Any] = ()) -> Row | None:
    rows = await conn.execute_fetchall(sql, tuple(params))
    return next(iter(rows), None)


async def fetchall(conn: Connection, sql: str, params: Iterable[Any] = ()) -> list[Row]:
    return list(await conn.execute_fetchall(sql, tuple(params)))


async def insert(conn: Connection, sql: str, params: Iterable[Any] = ()) -> int:
    """Run an INSERT into a table with an `id` column and return the new row's id."""
    rows = await conn.execute_fetchall(f"{sql} RETURNING id", tuple(params))
    if not rows:
        raise RuntimeError("insert produced no row id")
    return int(rows[0][0])


async def changes(conn: Connection, sql: str, params: Iterable[Any] = ()) -> int:
    """Run a write and return how many rows it changed."""
    cursor = await conn.execute(sql, tuple(params))
    return cursor.rowcount


async def newest_ids(
    conn: Connection,
    table: Literal["plans", "posts"],
    limit: int,
    place: tuple[str, str] | None,
    column: Literal["id", "number"] = "id",
) -> list[int]:
    """The newest ids (or numbers) of `table`, of one channel (platform, channel id) when
    `place` is given."""
    where, params = ("WHERE platform = ? AND channel_id = ? ", place) if place else ("", ())
    rows = await fetchall(
        conn,
        f"SELECT {column} AS n FROM {table} {where}ORDER BY id DESC LIMIT ?",
        (*params, limit),
    )
    return [int(r["n"]) for r in rows]
