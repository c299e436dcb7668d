"""The two migration folders build the same schema: every table and column that one database
has, the other has, with the same kind of value and the same NOT NULL, at the same version.

`storage/migrations/` (SQLite) and `storage/migrations_pg/` (PostgreSQL) come in pairs; this is
the test that fails when a pair drifts apart, and what `draftroom migrate-to-postgres` relies on
when it copies a table by the column names both sides share.

Left out on purpose:
- `post_search`'s columns, and SQLite's FTS5 shadow tables `post_search_*`: the search index is
  each database's own full-text search (storage/fulltext.py), an FTS5 virtual table on SQLite
  and a table with a `tsvector` on PostgreSQL. The table itself must exist on both.
- SQLite's own `sqlite_*` tables and PostgreSQL's `schema_version`: each one's bookkeeping.
  Their versions are compared instead (`PRAGMA user_version` and `MAX(version)`).
"""

from __future__ import annotations

from pathlib import Path

from storage.postgres_db import PostgresDatabase
from storage.sqlite_db import SqliteDatabase
from tests.postgres import PostgresServer

SEARCH = "post_search"

# A column's kind of value, named alike on both sides.
SQLITE_KINDS = {"INTEGER": "integer", "REAL": "real", "TEXT": "text"}
POSTGRES_KINDS = {"bigint": "integer", "double precision": "real", "text": "text"}

Schema = dict[str, dict[str, str]]  # table -> column -> "kind" or "kind not null"


async def sqlite_schema(path: Path) -> tuple[Schema, int]:
    async with SqliteDatabase(path) as db:
        tables = await db.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " AND name NOT LIKE ? ORDER BY name",
            (f"{SEARCH}_%",),
        )
        schema: Schema = {}
        for (table,) in tables:
            schema[table] = {}
            if table == SEARCH:
                continue
            for column in await db.fetchall(f'PRAGMA table_info("{table}")'):
                kind = SQLITE_KINDS.get(column["type"], f"sqlite {column['type']}")
                required = column["notnull"] or column["pk"]
                schema[table][column["name"]] = kind + (" not null" if required else "")
        version = int(await db.scalar("PRAGMA user_version"))
    return schema, version


async def postgres_schema(url: str) -> tuple[Schema, int]:
    async with PostgresDatabase(url) as db:
        rows = await db.fetchall(
            "SELECT table_name, column_name, data_type, is_nullable"
            " FROM information_schema.columns"
            " WHERE table_schema = 'public' AND table_name <> 'schema_version'"
            " ORDER BY table_name, ordinal_position"
        )
        tables = await db.fetchall(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = 'public' AND table_name <> 'schema_version'"
        )
        schema: Schema = {str(table): {} for (table,) in tables}
        for table, name, data_type, nullable in rows:
            if table == SEARCH:
                continue
            kind = POSTGRES_KINDS.get(data_type, f"postgres {data_type}")
            schema[table][name] = kind + (" not null" if nullable == "NO" else "")
        version = int(await db.scalar("SELECT MAX(version) FROM schema_version"))
    return schema, version


def differences(sqlite: Schema, postgres: Schema) -> list[str]:
    found = [f"table {t} only on SQLite" for t in sorted(sqlite.keys() - postgres.keys())]
    found += [f"table {t} only on PostgreSQL" for t in sorted(postgres.keys() - sqlite.keys())]
    for table in sorted(sqlite.keys() & postgres.keys()):
        lite, pg = sqlite[table], postgres[table]
        found += [f"column {table}.{c} only on SQLite" for c in sorted(lite.keys() - pg.keys())]
        found += [f"column {table}.{c} only on PostgreSQL" for c in sorted(pg.keys() - lite.keys())]
        found += [
            f"column {table}.{c}: {lite[c]} on SQLite, {pg[c]} on PostgreSQL"
            for c in sorted(lite.keys() & pg.keys())
            if lite[c] != pg[c]
        ]
    return found


async def test_sqlite_and_postgres_schemas_match(
    backend: str, tmp_path: Path, postgres_server: PostgresServer
) -> None:
    # Named with `sqlite` so that it runs once: it opens both databases itself.
    url = postgres_server.fresh_database(empty=True)
    try:
        sqlite, sqlite_version = await sqlite_schema(tmp_path / "fresh.db")
        postgres, postgres_version = await postgres_schema(url)
    finally:
        postgres_server.drop(url)

    found = differences(sqlite, postgres)
    assert not found, "the two migration folders differ:\n" + "\n".join(found)
    assert sqlite_version == postgres_version, (
        f"SQLite migrates to {sqlite_version}, PostgreSQL to {postgres_version}"
    )
    # What the comparison saw: the schema, not two empty lists.
    assert {"plans", "posts", "runs", "steps", SEARCH} <= sqlite.keys()
    assert "position" in sqlite["publication_targets"]


def test_sqlite_postgres_differences_name_the_table_and_the_column() -> None:
    sqlite = {"posts": {"id": "integer not null", "body": "text"}, "extra": {}}
    postgres = {"posts": {"id": "integer not null", "body": "text not null", "tag": "text"}}
    assert differences(sqlite, postgres) == [
        "table extra only on SQLite",
        "column posts.tag only on PostgreSQL",
        "column posts.body: text on SQLite, text not null on PostgreSQL",
    ]
