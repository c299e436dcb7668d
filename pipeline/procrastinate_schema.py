"""procrastinate's own tables, in a PostgreSQL schema of their own.

They live in the `procrastinate` schema, not `public`: the app's tables stay exactly what its
migrations make (the schema comparison, `migrate-to-postgres` and its emptiness check read
`public`), and every procrastinate connection finds its tables, types and functions through
its search_path.
"""

from __future__ import annotations

import psycopg
from procrastinate.schema import SchemaManager

SCHEMA = "procrastinate"
# What every procrastinate connection is opened with (libpq `options`).
CONNECTION_OPTIONS = f"-c search_path={SCHEMA}"
# Taken while the tables are checked and made: two processes starting at once make them once.
# Any fixed 64-bit number no other part of the app takes (storage/postgres_db.py has its own).
SCHEMA_LOCK = 0x6A6F6273  # "jobs"


async def ensure_schema(url: str) -> bool:
    """Make procrastinate's tables when they are missing; whether they were made here."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
        try:
            found = await conn.execute(
                "SELECT to_regclass(%s) IS NOT NULL", (f"{SCHEMA}.procrastinate_jobs",)
            )
            row = await found.fetchone()
            if row is not None and row[0]:
                return False
            async with conn.transaction():
                await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
                await conn.execute(f"SET LOCAL search_path = {SCHEMA}")
                # No parameters: sent as written, its '%' signs untouched.
                await conn.execute(SchemaManager.get_schema())
            return True
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))
