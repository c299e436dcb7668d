"""What `draftroom doctor` reads from the database, without writing to it or migrating it.

The SQLite file is opened read-only, and a PostgreSQL session is made read-only on one plain
connection (no pool, no migration, no advisory lock): a doctor run must leave an older database
for the next start to migrate, and must not take the write lock a running bot holds.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import aiosqlite
import psycopg
from psycopg.rows import dict_row

from storage.db import Connection
from storage.postgres_db import PostgresConnection, shown_url
from storage.reservations import position
from storage.sqlite_db import SqliteConnection
from storage.unusable import DatabaseUnusableError, check_path, damaged, explain, one_line, too_new

CONNECT_TIMEOUT_S = 5


def known_schema(folder_name: str = "migrations") -> int:
    """The newest migration this version ships: what `PRAGMA user_version` reaches, or with
    "migrations_pg" what PostgreSQL's `schema_version` table does."""
    folder = resources.files("storage") / folder_name
    numbers = [int(e.name[:4]) for e in folder.iterdir() if e.name[:4].isdigit()]
    return max(numbers, default=0)


@dataclass(frozen=True)
class DatabaseState:
    schema: int  # 0: the file does not exist yet
    known: int
    recent_channels: dict[str, list[str]]  # platform -> channel ids, most recently used first
    committed_today_usd: float | None  # None: an older schema, which the next start migrates


async def read_state(path: Path, *, since: float, channels_per_platform: int = 20) -> DatabaseState:
    """The schema, the channels the bot was last used in, and what today has committed.

    Raises `DatabaseUnusableError` (with start-up's own message) for a file that cannot be used."""
    known = known_schema()
    uri = _read_only_uri(path)
    if uri is None:
        return DatabaseState(0, known, {}, 0.0)
    try:
        async with aiosqlite.connect(uri, uri=True) as conn:
            conn.row_factory = aiosqlite.Row
            schema = int((await conn.execute_fetchall("PRAGMA user_version"))[0][0])  # type: ignore[index]
            if schema > known:
                raise too_new(path, schema, known)
            report = [str(r[0]) for r in await conn.execute_fetchall("PRAGMA quick_check(5)")]
            if report != ["ok"]:
                raise damaged(path, "; ".join(report))
            if schema == 0:
                return DatabaseState(0, known, {}, 0.0)
            wrapped = SqliteConnection(conn)
            channels = await _recent_channels(wrapped, channels_per_platform)
            committed = (
                (await position(wrapped, since=since)).committed if schema == known else None
            )
    except sqlite3.Error as exc:
        raise explain(path, exc) from exc
    return DatabaseState(schema, known, channels, committed)


async def read_postgres_state(
    url: str, *, since: float, channels_per_platform: int = 20
) -> DatabaseState:
    """As `read_state`, of the PostgreSQL database at `url`.

    Raises `DatabaseUnusableError`, naming the URL without its password, for a server that
    cannot be reached or a schema newer than this version's."""
    known = known_schema("migrations_pg")
    shown = shown_url(url)
    try:
        async with await psycopg.AsyncConnection.connect(
            url, autocommit=True, row_factory=dict_row, connect_timeout=CONNECT_TIMEOUT_S
        ) as raw:
            await raw.execute("SET default_transaction_read_only = on")
            conn = PostgresConnection(raw)
            schema = await _postgres_schema(conn)
            if schema > known:
                raise DatabaseUnusableError(
                    shown,
                    f"was written by a newer draftroom (schema {schema}, this version knows "
                    f"{known})",
                    "upgrade draftroom, or point DATABASE_URL at another database",
                )
            if schema == 0:
                return DatabaseState(0, known, {}, 0.0)
            channels = await _recent_channels(conn, channels_per_platform)
            committed = (await position(conn, since=since)).committed if schema == known else None
    except psycopg.OperationalError as exc:
        raise DatabaseUnusableError(
            shown,
            f"cannot be reached ({one_line(str(exc))})",
            "check DATABASE_URL and that the server runs and accepts this user",
        ) from exc
    except psycopg.Error as exc:
        raise DatabaseUnusableError(
            shown,
            f"cannot be read ({one_line(str(exc))})",
            "check that DATABASE_URL names draftroom's database and this user may read it",
        ) from exc
    return DatabaseState(schema, known, channels, committed)


async def _postgres_schema(conn: Connection) -> int:
    """0 before the first start has made `schema_version`."""
    rows = await conn.execute_fetchall("SELECT to_regclass('schema_version') IS NOT NULL AS made")
    if not rows[0]["made"]:
        return 0
    rows = await conn.execute_fetchall("SELECT MAX(version) AS version FROM schema_version")
    return int(rows[0]["version"] or 0)


def _read_only_uri(path: Path) -> str | None:
    """None when the file does not exist yet (the first start makes it)."""
    check_path(path)
    return f"{path.resolve().as_uri()}?mode=ro" if path.exists() else None


async def _recent_channels(conn: Connection, limit: int) -> dict[str, list[str]]:
    rows = await conn.execute_fetchall(
        "SELECT platform, channel_id, MAX(at) AS last FROM ("
        " SELECT platform, channel_id, created_at AS at FROM messages"
        " UNION ALL SELECT platform, channel_id, created_at AS at FROM turns)"
        " GROUP BY platform, channel_id ORDER BY last DESC"
    )
    found: dict[str, list[str]] = {}
    for row in rows:
        ids = found.setdefault(str(row["platform"]), [])
        if len(ids) < limit:
            ids.append(str(row["channel_id"]))
    return found
