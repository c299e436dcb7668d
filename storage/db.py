"""The SQLite database: one writer connection, one reader, numbered migrations.

Writes go through `transaction()`: `BEGIN IMMEDIATE` on the single writer connection, serialised
by a lock, committed at the end and rolled back on any exception, cancellation included. Never
await a network call inside one. Reads use a second connection; WAL lets them run beside a write.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterable
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import aiosqlite

from storage.unusable import check_path, damaged, explain, migration_failed, too_new

Row = aiosqlite.Row


class Database:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()

    async def open(self) -> Database:
        """Open and migrate. A file that cannot be used raises `DatabaseUnusableError` and leaves
        no connection behind: an open one's thread would keep the process from exiting."""
        check_path(self.path)
        try:
            self._writer = await self._connect()
            await self._check(self._writer)
            await self._writer.execute("PRAGMA journal_mode=WAL")
            await self._migrate(self._writer)
            self._reader = await self._connect()
        except BaseException as exc:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.close())
            if isinstance(exc, sqlite3.Error):
                raise explain(self.path, exc) from exc
            raise
        return self

    async def close(self) -> None:
        reader, writer = self._reader, self._writer
        self._reader = self._writer = None
        try:
            if reader is not None:
                await reader.close()
        finally:
            if writer is not None:
                await writer.close()

    async def __aenter__(self) -> Database:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            conn.row_factory = aiosqlite.Row
            await conn.execute("PRAGMA busy_timeout=10000")
            await conn.execute("PRAGMA foreign_keys=ON")
            await conn.execute("PRAGMA synchronous=NORMAL")
        except BaseException:
            await asyncio.shield(conn.close())
            raise
        return conn

    async def _check(self, conn: aiosqlite.Connection) -> None:
        """Refuse a schema newer than this version knows, or a damaged file, before writing."""
        found = await self._schema_version(conn)
        known = max((number for number, _ in _migrations()), default=0)
        if found > known:
            raise too_new(self.path, found, known)
        report = [str(row[0]) for row in await conn.execute_fetchall("PRAGMA quick_check(5)")]
        if report != ["ok"]:
            raise damaged(self.path, "; ".join(report))

    async def _schema_version(self, conn: aiosqlite.Connection) -> int:
        row = await fetchone(conn, "PRAGMA user_version")
        return int(row[0]) if row else 0

    async def _migrate(self, conn: aiosqlite.Connection) -> None:
        current = await self._schema_version(conn)
        for number, sql in _migrations():
            if number <= current:
                continue
            try:
                await conn.executescript(
                    f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version={number};\nCOMMIT;"
                )
            except sqlite3.Error as exc:  # closing the connection rolls the migration back
                raise migration_failed(self.path, number, exc) from exc

    @property
    def writer(self) -> aiosqlite.Connection:
        if self._writer is None:
            raise RuntimeError("database is not open")
        return self._writer

    @property
    def reader(self) -> aiosqlite.Connection:
        if self._reader is None:
            raise RuntimeError("database is not open")
        return self._reader

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        conn = self.writer
        async with self._write_lock:
            try:
                await conn.execute("BEGIN IMMEDIATE")
                yield conn
                await asyncio.shield(conn.execute("COMMIT"))
            except BaseException:
                # Shielded so that a cancelled task still leaves no half-written rows behind,
                # and no transaction open: a task cancelled while its BEGIN was on the way still
                # had it run (the connection's thread runs calls in order, so this ROLLBACK comes
                # after it); a failed COMMIT leaves the transaction open too.
                await asyncio.shield(_rollback(conn))
                raise

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        return await fetchall(self.reader, sql, params)

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        return await fetchone(self.reader, sql, params)

    async def scalar(self, sql: str, params: Iterable[Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]


def _migrations() -> list[tuple[int, str]]:
    folder = resources.files("storage") / "migrations"
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), entry.read_text(encoding="utf-8")))
    return sorted(found)


# Each helper is one hop to aiosqlite's thread: execute and fetch together, no cursor to close.
# The hops, not SQLite, are most of the cost of a small query.


async def fetchone(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> Row | None:
    rows = await conn.execute_fetchall(sql, tuple(params))
    return next(iter(rows), None)


async def fetchall(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> list[Row]:
    return list(await conn.execute_fetchall(sql, tuple(params)))


async def insert(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> int:
    cursor = await conn.execute(sql, tuple(params))
    if cursor.lastrowid is None:
        raise RuntimeError("insert produced no row id")
    return cursor.lastrowid


async def changes(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> int:
    """Run a write and return how many rows it changed."""
    cursor = await conn.execute(sql, tuple(params))
    return cursor.rowcount


async def newest_ids(
    conn: aiosqlite.Connection,
    table: Literal["plans", "posts"],
    limit: int,
    place: tuple[str, str] | None,
) -> list[int]:
    """The newest ids of `table`, of one channel (platform, channel id) when `place` is given."""
    where, params = ("WHERE platform = ? AND channel_id = ? ", place) if place else ("", ())
    rows = await fetchall(
        conn, f"SELECT id FROM {table} {where}ORDER BY id DESC LIMIT ?", (*params, limit)
    )
    return [int(r["id"]) for r in rows]


async def _rollback(conn: aiosqlite.Connection) -> None:
    # "No transaction is active" when BEGIN itself failed or COMMIT went through: nothing to undo.
    with contextlib.suppress(sqlite3.OperationalError):
        await conn.execute("ROLLBACK")
