"""Storage on a real SQLite file: migrations, WAL, transactions that roll back, contention."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from storage import plans
from storage.db import Database
from storage.unusable import DatabaseUnusableError
from tests.support import wait_until

NEWEST_MIGRATION = max(
    int(p.name[:4])
    for p in (Path(__file__).parent.parent / "storage" / "migrations").glob("0*.sql")
)


async def test_migrations_apply_once_and_set_wal(tmp_path: Path) -> None:
    path = tmp_path / "d.db"
    async with Database(path) as db:
        assert await db.scalar("PRAGMA journal_mode") == "wal"
        assert await db.scalar("PRAGMA user_version") == NEWEST_MIGRATION
    async with Database(path) as db:  # a second start finds them applied
        assert await db.scalar("SELECT COUNT(*) FROM plans") == 0


async def no_new_threads(before: set[threading.Thread], within_s: float = 5.0) -> bool:
    """Whether every thread started since `before` has ended, waiting up to `within_s`."""
    deadline = asyncio.get_running_loop().time() + within_s
    while set(threading.enumerate()) - before:
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def test_a_file_that_is_not_a_database_is_refused_and_leaves_no_thread(
    tmp_path: Path,
) -> None:
    path = tmp_path / "d.db"
    path.write_bytes(b"not sqlite at all " * 100)
    before = set(threading.enumerate())
    with pytest.raises(DatabaseUnusableError, match="is not a SQLite database"):
        await Database(path).open()
    # aiosqlite runs each connection on a non-daemon thread: one left behind hangs the exit.
    assert await no_new_threads(before)


async def test_a_foreign_sqlite_database_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE plans (something TEXT)")
    before = set(threading.enumerate())
    with pytest.raises(DatabaseUnusableError, match="is not a draftroom database") as refused:
        await Database(path).open()
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
    async with Database(tmp_path / "d.db") as db:
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
        assert await new_plan(db, "after") == 1  # the writer is usable again


async def test_a_write_cancelled_while_it_begins_leaves_the_writer_usable(
    tmp_path: Path,
) -> None:
    """Cancelled while its BEGIN is on the way to SQLite's thread (the task's first wait): the
    BEGIN still runs there, and must be rolled back, or every later write fails with "cannot
    start a transaction within a transaction"."""
    async with Database(tmp_path / "d.db") as db:
        for _ in range(3):
            writer = asyncio.create_task(new_plan(db, "never"))
            await asyncio.sleep(0)  # the task is now waiting for its BEGIN
            writer.cancel()
            with pytest.raises(asyncio.CancelledError):
                await writer
            assert await new_plan(db, "after") >= 1
        assert await db.scalar("SELECT COUNT(*) FROM plans WHERE idea = 'never'") == 0


async def test_cancelled_writers_leave_no_half_rows_and_nothing_is_locked(tmp_path: Path) -> None:
    async with Database(tmp_path / "d.db") as db:

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
    async with Database(tmp_path / "d.db") as db:
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
    async with Database(tmp_path / "d.db") as db:
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
