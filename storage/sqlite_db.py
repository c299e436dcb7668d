"""The SQLite database: one writer connection, one reader, numbered migrations.

Writes go through `transaction()`: `BEGIN IMMEDIATE` on the single writer connection, serialised
by a lock, committed at the end and rolled back on any exception, cancellation included. Never
await a network call inside one. Reads use a second connection; WAL lets them run beside a write.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from storage.db import Connection, Cursor, Dialect, NamedLocks, ReaderQueries, Row
from storage.unusable import check_path, damaged, explain, migration_failed, too_new


class SqliteConnection:
    """An aiosqlite connection as the storage interface's `Connection`."""

    __slots__ = ("raw",)
    dialect: Dialect = "sqlite"

    def __init__(self, raw: aiosqlite.Connection) -> None:
        self.raw = raw

    async def execute(self, sql: str, parameters: Iterable[Any] = (), /) -> Cursor:
        return await self.raw.execute(sql, tuple(parameters))

    # One hop to aiosqlite's thread: execute and fetch together, no cursor to close. The hops,
    # not SQLite, are most of the cost of a small query.
    async def execute_fetchall(self, sql: str, parameters: Iterable[Any] = (), /) -> Sequence[Row]:
        return list(await self.raw.execute_fetchall(sql, tuple(parameters)))

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]], /) -> None:
        await self.raw.executemany(sql, [tuple(p) for p in parameters])


class SqliteDatabase(ReaderQueries):
    dialect: Dialect = "sqlite"

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._writer: SqliteConnection | None = None
        self._reader: SqliteConnection | None = None
        self._write_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"SqliteDatabase({str(self.path)!r})"

    async def open(self) -> SqliteDatabase:
        """Open and migrate. A file that cannot be used raises `DatabaseUnusableError` and leaves
        no connection behind: an open one's thread would keep the process from exiting."""
        check_path(self.path)
        try:
            writer = self._writer = SqliteConnection(await self._connect())
            await self._check(writer.raw)
            await writer.raw.execute("PRAGMA journal_mode=WAL")
            await self._migrate(writer.raw)
            self._reader = SqliteConnection(await self._connect())
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
                await reader.raw.close()
        finally:
            if writer is not None:
                await writer.raw.close()

    async def __aenter__(self) -> SqliteDatabase:
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
        found = await schema_version(conn)
        known = max((number for number, _ in migrations("migrations")), default=0)
        if found > known:
            raise too_new(self.path, found, known)
        report = [str(row[0]) for row in await conn.execute_fetchall("PRAGMA quick_check(5)")]
        if report != ["ok"]:
            raise damaged(self.path, "; ".join(report))

    async def _migrate(self, conn: aiosqlite.Connection) -> None:
        current = await schema_version(conn)
        for number, sql in migrations("migrations"):
            if number <= current:
                continue
            try:
                await conn.executescript(
                    f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version={number};\nCOMMIT;"
                )
            except sqlite3.Error as exc:  # closing the connection rolls the migration back
                raise migration_failed(self.path, number, exc) from exc

    @property
    def writer(self) -> SqliteConnection:
        if self._writer is None:
            raise RuntimeError("database is not open")
        return self._writer

    @property
    def reader(self) -> SqliteConnection:
        if self._reader is None:
            raise RuntimeError("database is not open")
        return self._reader

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        conn = self.writer
        async with self._write_lock:
            try:
                await conn.raw.execute("BEGIN IMMEDIATE")
                yield conn
                await asyncio.shield(conn.raw.execute("COMMIT"))
            except BaseException:
                # Shielded so that a cancelled task still leaves no half-written rows behind,
                # and no transaction open: a task cancelled while its BEGIN was on the way still
                # had it run (the connection's thread runs calls in order, so this ROLLBACK comes
                # after it); a failed COMMIT leaves the transaction open too.
                await asyncio.shield(_rollback(conn.raw))
                raise

    @contextlib.asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[None]:
        # By file, not by object: two apps of one process on one file take turns too.
        async with _FILE_TURNS(f"{self.path}\0{name}"):
            yield


_FILE_TURNS = NamedLocks()


def migrations(folder_name: str) -> list[tuple[int, str]]:
    """The numbered `.sql` files of `storage/<folder_name>`, in order."""
    folder = resources.files("storage") / folder_name
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), entry.read_text(encoding="utf-8")))
    return sorted(found)


async def schema_version(conn: aiosqlite.Connection) -> int:
    rows = list(await conn.execute_fetchall("PRAGMA user_version"))
    return int(rows[0][0]) if rows else 0


async def _rollback(conn: aiosqlite.Connection) -> None:
    # "No transaction is active" when BEGIN itself failed or COMMIT went through: nothing to undo.
    with contextlib.suppress(sqlite3.OperationalError):
        await conn.execute("ROLLBACK")
