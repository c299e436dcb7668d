"""Which database: PostgreSQL when a `postgresql://` URL is given, else the SQLite file."""

from __future__ import annotations

from pathlib import Path

from storage.db import Database
from storage.postgres_db import PostgresDatabase
from storage.sqlite_db import SqliteDatabase

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def database(url: str | None, sqlite_path: Path) -> Database:
    """The database the settings name, not yet opened."""
    if url:
        if not url.startswith(POSTGRES_SCHEMES):
            raise ValueError(
                f"DATABASE_URL must start with postgresql:// (got {url.split(':', 1)[0]}:); "
                "leave it unset to use the SQLite file DRAFTROOM_DB"
            )
        return PostgresDatabase(url)
    return SqliteDatabase(sqlite_path)
