"""Reading what a test's bot stored, on whichever database the test runs on, from outside the
bot (no event loop needed): its SQLite file, or its PostgreSQL database at
`support.DATABASE_URL`. SQL is written with `?` placeholders, as in storage/."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import psycopg

from tests import support


def rows(sqlite_path: Path | str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The rows of `sql`, read-only. `sqlite_path` is the bot's DRAFTROOM_DB (ignored on
    PostgreSQL). A table that does not exist yet (the bot has not migrated) reads as no rows."""
    url = support.DATABASE_URL
    if url is None:
        uri = f"file:{Path(sqlite_path).resolve()}?mode=ro"
        try:
            with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=5)) as conn:
                return [tuple(r) for r in conn.execute(sql, params)]
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc) or "unable to open" in str(exc):
                return []
            raise
    with psycopg.connect(url, autocommit=True) as conn:
        try:
            cursor = conn.execute(sql.replace("%", "%%").replace("?", "%s"), params)
        except psycopg.errors.UndefinedTable:
            return []
        return [tuple(r) for r in cursor.fetchall()] if cursor.description else []


def scalar(sqlite_path: Path | str, sql: str, params: tuple[Any, ...] = ()) -> Any:
    found = rows(sqlite_path, sql, params)
    return found[0][0] if found else None
