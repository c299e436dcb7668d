"""Copy a SQLite database into an empty PostgreSQL one: every table's rows with their ids, the
identity counters past them, and the search index rebuilt in PostgreSQL's own full-text search.

Both databases come opened, and so migrated, by their own classes; the copy is refused unless
they reach the same schema version. It is one PostgreSQL transaction (all or nothing) under the
writer lock, so no bot on the target writes beside it, and it reads the SQLite file in one read
transaction, so a bot still writing to the file cannot hand it half of a change.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from graphlib import TopologicalSorter

import psycopg

from storage import fulltext
from storage.db import Connection
from storage.postgres_db import PostgresDatabase
from storage.sqlite_db import SqliteDatabase
from storage.unusable import one_line

SEARCH = "post_search"  # FTS5 on SQLite, a tsvector table on PostgreSQL: rebuilt, not copied
BATCH = 2000  # rows read from SQLite and sent to PostgreSQL at a time


class CopyError(Exception):
    """Why the copy was refused or failed, in one line that says what to do; nothing written."""


@dataclass(frozen=True)
class Copied:
    table: str
    rows: int


async def copy_to_postgres(source: SqliteDatabase, target: PostgresDatabase) -> list[Copied]:
    """Copy every row of `source` into `target`; the tables in the order they were copied, the
    search index (as `post_search`, one row a post) last."""
    await _same_version(source, target)
    reader = source.reader
    await reader.execute("BEGIN")  # one snapshot of the file for the whole copy
    try:
        async with target.transaction() as conn:
            tables = await _tables_in_order(conn)
            await _refuse_unless_empty(conn, tables)
            copied = [Copied(table, await _copy_table(reader, conn, table)) for table in tables]
            await _reset_identities(conn)
            copied.append(Copied(SEARCH, await _rebuild_search(reader, conn)))
    except psycopg.Error as exc:
        raise CopyError(f"the copy failed and was rolled back: {one_line(str(exc))}") from exc
    except sqlite3.Error as exc:
        raise CopyError(f"reading {source.path} failed: {one_line(str(exc))}") from exc
    finally:
        await reader.execute("COMMIT")
    return copied


async def _same_version(source: SqliteDatabase, target: PostgresDatabase) -> None:
    mine = int(await source.scalar("PRAGMA user_version"))
    theirs = int(await target.scalar("SELECT MAX(version) FROM schema_version") or 0)
    if mine != theirs:
        raise CopyError(
            f"{source.path} is at schema {mine}, the PostgreSQL database at {theirs}: "
            "run this with the draftroom version that wrote them"
        )


async def _tables_in_order(conn: Connection) -> list[str]:
    """The target's tables (but the search index), each after the tables it references."""
    rows = await conn.execute_fetchall(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        " AND table_type = 'BASE TABLE' AND table_name NOT IN ('schema_version', ?)",
        (SEARCH,),
    )
    tables = sorted(str(r["table_name"]) for r in rows)
    references = await conn.execute_fetchall(
        "SELECT conrelid::regclass::text AS child, confrelid::regclass::text AS parent"
        " FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace"
    )
    order: TopologicalSorter[str] = TopologicalSorter({t: set() for t in tables})
    for ref in references:
        child, parent = str(ref["child"]), str(ref["parent"])
        if child in tables and parent != child:
            order.add(child, parent)
    return list(order.static_order())


async def _refuse_unless_empty(conn: Connection, tables: list[str]) -> None:
    held = []
    for table in tables:
        count = int((await conn.execute_fetchall(f'SELECT COUNT(*) FROM "{table}"'))[0][0])
        if count:
            held.append(f"{table}: {count}")
    if held:
        shown = ", ".join(held[:4]) + (", …" if len(held) > 4 else "")
        raise CopyError(
            f"the PostgreSQL database already holds rows ({shown}); nothing was copied. "
            "Point DATABASE_URL at a new, empty database (createdb draftroom) and run this again"
        )


async def _copy_table(reader: Connection, conn: Connection, table: str) -> int:
    """Copy one table by the column names both sides have, ids included; its row count."""
    theirs = await conn.execute_fetchall(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = 'public' AND table_name = ? ORDER BY ordinal_position",
        (table,),
    )
    target_columns = {str(r["column_name"]) for r in theirs}
    mine = await reader.execute_fetchall(f'PRAGMA table_info("{table}")')
    if not mine:
        raise CopyError(f"{table} is in the PostgreSQL schema but not in the SQLite file")
    columns = [str(r["name"]) for r in mine]
    missing = [c for c in columns if c not in target_columns]
    if missing:  # the schema test keeps the two in step; a copy must not drop values silently
        raise CopyError(f"{table}.{missing[0]} is in the SQLite file but not in PostgreSQL")
    names = ", ".join(f'"{c}"' for c in columns)
    insert = f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" for _ in columns)})'
    count, after = 0, -(2**63)
    while True:  # by rowid, a batch at a time: a large table is never all in memory
        rows = await reader.execute_fetchall(
            f'SELECT rowid, {names} FROM "{table}" WHERE rowid > ? ORDER BY rowid LIMIT ?',
            (after, BATCH),
        )
        if not rows:
            return count
        await conn.executemany(insert, [[r[i] for i in range(1, len(r))] for r in rows])
        count += len(rows)
        after = int(rows[-1][0])


async def _reset_identities(conn: Connection) -> None:
    """Each identity column's next value past the ids copied, so a new row takes a fresh one."""
    identities = await conn.execute_fetchall(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = 'public' AND is_identity = 'YES'"
    )
    for row in identities:
        table, column = str(row["table_name"]), str(row["column_name"])
        await conn.execute(
            f'SELECT setval(pg_get_serial_sequence(?, ?), COALESCE(MAX("{column}"), 0) + 1,'
            f' false) FROM "{table}"',
            (f'"{table}"', column),
        )


async def _rebuild_search(reader: Connection, conn: Connection) -> int:
    """Index each post's text as SQLite's FTS5 table held it; the number of posts indexed."""
    count, after = 0, 0
    while True:
        rows = await reader.execute_fetchall(
            f"SELECT s.rowid, s.body, s.caption, s.plan_text FROM {SEARCH} s"
            " JOIN posts p ON p.id = s.rowid"  # an entry of no post has nothing to point at
            " WHERE s.rowid > ? ORDER BY s.rowid LIMIT ?",
            (after, BATCH),
        )
        if not rows:
            return count
        for row in rows:
            texts = tuple(str(row[c] or "") for c in ("body", "caption", "plan_text"))
            await fulltext.index(conn, int(row["rowid"]), texts, new=True)
        count += len(rows)
        after = int(rows[-1]["rowid"])
