"""`draftroom migrate-to-postgres`: copy the SQLite file DRAFTROOM_DB into the empty PostgreSQL
database DATABASE_URL, one line a table, then start the bot on PostgreSQL with the same settings.

Stop the bot first: rows it writes to the file after the copy began stay behind in the file.
"""

from __future__ import annotations

import asyncio

from bot.errors import ConfigError
from bot.settings import Settings
from storage.backend import POSTGRES_SCHEMES
from storage.copy_to_postgres import SEARCH, CopyError, copy_to_postgres
from storage.postgres_db import PostgresDatabase, shown_url
from storage.sqlite_db import SqliteDatabase
from storage.unusable import DatabaseUnusableError


def migrate_to_postgres(settings: Settings) -> int:
    """Copy and report; a problem raises `ConfigError` with one line that says what to do."""
    url = settings.database_url.get_secret_value() if settings.database_url else ""
    if not url.startswith(POSTGRES_SCHEMES):
        raise ConfigError(
            "migrate-to-postgres copies into DATABASE_URL: set it to the new database's "
            "postgresql:// URL (and DRAFTROOM_DB to the SQLite file to copy)"
        )
    path = settings.db_path
    if not path.is_file():
        raise ConfigError(
            f"DRAFTROOM_DB {path} does not exist: set it to the SQLite file to copy from"
        )
    try:
        copied = asyncio.run(_copy(SqliteDatabase(path), PostgresDatabase(url)))
    except (CopyError, DatabaseUnusableError) as exc:
        raise ConfigError(str(exc)) from None
    for table, rows in copied:
        print(f"{table}: {rows} {'posts indexed' if table == SEARCH else 'rows copied'}")
    total = sum(rows for table, rows in copied if table != SEARCH)
    print(
        f"Copied {total} rows from {path} to {shown_url(url)}, all in one transaction. "
        "Keep DATABASE_URL set to run on PostgreSQL; the SQLite file stays as a backup."
    )
    return 0


async def _copy(source: SqliteDatabase, target: PostgresDatabase) -> list[tuple[str, int]]:
    async with source, target:
        return [(c.table, c.rows) for c in await copy_to_postgres(source, target)]
