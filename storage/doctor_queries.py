"""What `draftroom doctor` reads from the database, without writing to it or migrating it.

The file is opened read-only: a doctor run must leave an older database for the next start to
migrate, and must not take the write lock a running bot holds.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import aiosqlite

from storage.reservations import position
from storage.unusable import check_path, damaged, explain, too_new


def known_schema() -> int:
    """The newest migration this version ships (what `PRAGMA user_version` reaches)."""
    folder = resources.files("storage") / "migrations"
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
            channels = await _recent_channels(conn, channels_per_platform)
            committed = (await position(conn, since=since)).committed if schema == known else None
    except sqlite3.Error as exc:
        raise explain(path, exc) from exc
    return DatabaseState(schema, known, channels, committed)


def _read_only_uri(path: Path) -> str | None:
    """None when the file does not exist yet (the first start makes it)."""
    check_path(path)
    return f"{path.resolve().as_uri()}?mode=ro" if path.exists() else None


async def _recent_channels(conn: aiosqlite.Connection, limit: int) -> dict[str, list[str]]:
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
