"""Storage on a real database, SQLite's file or PostgreSQL: migrations, transactions that roll
back, cancellation, contention; and what is SQLite's own (WAL, a file that is not one)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from storage import plans
from storage.db import Database
from storage.postgres_db import PostgresDatabase
from storage.sqlite_db import SqliteDatabase
from storage.unusable import DatabaseUnusableError
from tests.postgres import PostgresServer
from tests.support import database_for, wait_until


def newest_migration(folder: str) -> int:
    found = (Path(__file__).parent.parent / "storage" / folder).glob("0*.sql")
    return max(int(p.name[:4]) for p in found)


NEWEST_MIGRATION = newest_migration("migrations")


@pytest.fixture
def empty_database(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Database]:
    """A database nothing has been written to, not yet opened: no SQLite file yet, or a new
    PostgreSQL database made from `template0` (no tables at all)."""
    if backend == "sqlite":
        yield SqliteDatabase(tmp_path / "d.db")
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.fresh_database(empty=True)
    try:
        yield PostgresDatabase(url)
    finally:
        server.drop(url)


async def schema_version(db: Database) -> int:
    if db.dialect == "sqlite":
        return int(await db.scalar("PRAGMA user_version"))
    return int(await db.scalar("SELECT MAX(version) FROM schema_version"))


async def set_schema_version(db: Database, version: int) -> None:
    async with db.transaction() as conn:
        if conn.dialect == "sqlite":
            await conn.execute(f"PRAGMA user_version={version}")
        else:
            await conn.execute("INSERT INTO schema_version VALUES (?)", (version,))


async def test_migrations_apply_once(empty_database: Database) -> None:
    db = empty_database
    newest = newest_migration("migrations" if db.dialect == "sqlite" else "migrations_pg")
    async with db:
        assert await schema_version(db) == newest
        await new_plan(db, "kept")
    async with db:  # a second start finds them applied, and the rows there
        assert await schema_version(db) == newest
        assert await db.scalar("SELECT idea FROM plans") == "kept"
        if db.dialect == "postgres":  # each migration recorded once
            assert await db.scalar("SELECT COUNT(*) FROM schema_version") == await db.scalar(
                "SELECT COUNT(DISTINCT version) FROM schema_version"
            )


async def test_sqlite_migrations_set_wal(tmp_path: Path) -> None:
    async with SqliteDatabase(tmp_path / "d.db") as db:
        assert await db.scalar("PRAGMA journal_mode") == "wal"
        assert await db.scalar("PRAGMA user_version") == NEWEST_MIGRATION


async def test_a_newer_schema_is_refused_with_a_clear_message(empty_database: Database) -> None:
    db = empty_database
    async with db:
        await new_plan(db, "written by a newer version")
        newer = await schema_version(db) + 1
        await set_schema_version(db, newer)
    with pytest.raises(DatabaseUnusableError) as refused:
        await db.open()
    assert f"was written by a newer draftroom (schema {newer}, this version knows " in str(
        refused.value
    )
    assert "upgrade draftroom" in str(refused.value)
    assert outside(db, "SELECT idea FROM plans") == [("written by a newer version",)]
    version = (
        "PRAGMA user_version"
        if db.dialect == "sqlite"
        else "SELECT MAX(version) FROM schema_version"
    )
    assert outside(db, version) == [(newer,)]  # left as it was


def outside(db: Database, sql: str) -> list[tuple[object, ...]]:
    """Rows read by another client than draftroom's, while `db` is closed."""
    if isinstance(db, SqliteDatabase):
        with contextlib.closing(sqlite3.connect(db.path)) as conn:
            return [tuple(row) for row in conn.execute(sql)]
    assert isinstance(db, PostgresDatabase)
    with psycopg.connect(db.url, autocommit=True) as conn:
        return [tuple(row) for row in conn.execute(sql).fetchall()]


async def no_new_threads(before: set[threading.Thread], within_s: float = 5.0) -> bool:
    """Whether every thread started since `before` has ended, waiting up to `within_s`."""
    deadline = asyncio.get_running_loop().time() + within_s
    while set(threading.enumerate()) - before:
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def test_a_file_that_is_not_a_sqlite_database_is_refused_and_leaves_no_thread(
    tmp_path: Path,
) -> None:
    path = tmp_path / "d.db"
    path.write_bytes(b"not sqlite at all " * 100)
    before = set(threading.enumerate())
    with pytest.raises(DatabaseUnusableError, match="is not a SQLite database"):
        await SqliteDatabase(path).open()
    # aiosqlite runs each connection on a non-daemon thread: one left behind hangs the exit.
    assert await no_new_threads(before)


async def test_a_foreign_sqlite_database_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE plans (something TEXT)")
    before = set(threading.enumerate())
    with pytest.raises(DatabaseUnusableError, match="is not a draftroom database") as refused:
        await SqliteDatabase(path).open()
    assert str(path) in str(refused.value) and "migration 0001 failed" in str(refused.value)
    assert await no_new_threads(before)
    with sqlite3.connect(path) as conn:
        tables = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        assert tables == [("plans",)]
        assert conn.execute("PRAGMA user_version").fetchone() == (0,)


async def new_plan(db: Database, idea: str) -> int:
    async with db.transaction() as conn:
        return await plans.create_plan(
            conn,
            persona="aiaaron",
            pillar="structural_dread",
            idea=idea,
            proposer="u",
            platform="console",
            channel_id="c",
            now=0.0,
        )


async def test_an_exception_rolls_the_whole_transaction_back(tmp_path: Path) -> None:
    async with database_for(tmp_path, "d.db") as db:
        with pytest.raises(RuntimeError):
            async with db.transaction() as conn:
                await plans.create_plan(
                    conn,
                    persona="p",
                    pillar="x",
                    idea="half",
                    proposer="u",
                    platform="console",
                    channel_id="c",
                    now=0.0,
                )
                raise RuntimeError("boom")
        assert await db.scalar("SELECT COUNT(*) FROM plans") == 0
        await new_plan(db, "after")  # the writer is usable again
        assert [tuple(r) for r in await db.fetchall("SELECT idea FROM plans")] == [("after",)]


async def test_a_write_cancelled_while_it_begins_leaves_the_writer_usable(
    tmp_path: Path,
) -> None:
    """Cancelled while its BEGIN is on the way to SQLite's thread (the task's first wait): the
    BEGIN still runs there, and must be rolled back, or every later write fails with "cannot
    start a transaction within a transaction". On PostgreSQL, cancelled while it waits for its
    pooled connection or its BEGIN: the connection goes back to the pool with no transaction
    open."""
    async with database_for(tmp_path, "d.db") as db:
        for _ in range(3):
            writer = asyncio.create_task(new_plan(db, "never"))
            await asyncio.sleep(0)  # the task is now waiting for its BEGIN
            writer.cancel()
            with pytest.raises(asyncio.CancelledError):
                await writer
            assert await new_plan(db, "after") >= 1
        assert await db.scalar("SELECT COUNT(*) FROM plans WHERE idea = 'never'") == 0


async def test_cancelled_writers_leave_no_half_rows_and_nothing_is_locked(tmp_path: Path) -> None:
    async with database_for(tmp_path, "d.db") as db:

        async def write_two(i: int) -> None:
            async with db.transaction() as conn:
                plan_id = await plans.create_plan(
                    conn,
                    persona="p",
                    pillar="x",
                    idea=f"idea {i}",
                    proposer="u",
                    platform="console",
                    channel_id="c",
                    now=0.0,
                )
                await asyncio.sleep(0.001)
                await plans.create_run(
                    conn,
                    plan_id=plan_id,
                    plan_rev=1,
                    platform="console",
                    channel_id="c",
                    started_by="u",
                    reserved_usd=0,
                    now=0.0,
                )

        tasks = [asyncio.create_task(write_two(i)) for i in range(50)]
        # Cancel once the first has committed: the others are queued or halfway then.
        await wait_until(lambda: tasks[0].done())
        cancelled = [task for task in tasks[::3] if task.cancel()]
        results = await asyncio.gather(*tasks, return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        assert all(isinstance(e, asyncio.CancelledError) for e in errors)
        assert 0 < len(errors) <= len(cancelled)
        plans_count = await db.scalar("SELECT COUNT(*) FROM plans")
        runs_count = await db.scalar("SELECT COUNT(*) FROM runs")
        assert plans_count == runs_count == 50 - len(errors)


async def test_reads_do_not_see_an_uncommitted_write(tmp_path: Path) -> None:
    async with database_for(tmp_path, "d.db") as db:
        async with db.transaction() as conn:
            await plans.create_plan(
                conn,
                persona="p",
                pillar="x",
                idea="pending",
                proposer="u",
                platform="console",
                channel_id="c",
                now=0.0,
            )
            assert await db.scalar("SELECT COUNT(*) FROM plans") == 0
        assert await db.scalar("SELECT COUNT(*) FROM plans") == 1


async def test_the_file_is_plain_sqlite(tmp_path: Path) -> None:
    async with SqliteDatabase(tmp_path / "d.db") as db:
        await new_plan(db, "visible to any sqlite client")
    with sqlite3.connect(tmp_path / "d.db") as conn:
        assert conn.execute("SELECT idea FROM plans").fetchall() == [
            ("visible to any sqlite client",)
        ]


def test_media_store_survives_the_same_bytes_saved_at_once(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from pipeline.media import MediaStore

    store = MediaStore(tmp_path / "media")
    with ThreadPoolExecutor(8) as pool:
        names = list(pool.map(lambda _: store.save(b"same bytes", "hero", "png"), range(64)))
    assert len(set(names)) == 1
    assert store.read(names[0]) == b"same bytes"
    assert [p.name for p in (tmp_path / "media").iterdir()] == names[:1]
