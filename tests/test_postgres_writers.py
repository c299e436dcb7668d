"""Writes of two processes on one PostgreSQL database never interleave: a read-then-write in
one transaction loses no update made by another process (storage/postgres_db.py takes one
advisory lock for every write transaction, as SQLite's single writer serialises them)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
import pytest

from storage import plans
from storage.db import fetchone
from tests import support
from tests.support import database_for, wait_until


async def waiting_on_a_lock(url: str) -> bool:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cursor = await conn.execute(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
        )
        row = await cursor.fetchone()
        return row is not None and int(row[0]) > 0


async def test_a_read_then_write_loses_no_update_of_another_process(
    tmp_path: Path, backend: str
) -> None:
    if backend == "sqlite":
        pytest.skip("one SQLite file has one writer by its own lock (tests/test_storage.py)")
    url = support.DATABASE_URL
    assert url is not None
    async with database_for(tmp_path) as first, database_for(tmp_path) as second:
        async with first.transaction() as conn:
            plan_id = await plans.create_plan(
                conn,
                persona="ai_editor",
                pillar="x",
                idea="counted",
                proposer="u",
                platform="console",
                channel_id="c",
                now=1.0,
            )
        before = await first.scalar("SELECT current_rev FROM plans WHERE id = ?", (plan_id,))
        read = asyncio.Event()
        go_on = asyncio.Event()

        async def bump(db: object, *, pause: bool) -> None:
            async with db.transaction() as conn:  # type: ignore[attr-defined]
                row = await fetchone(conn, "SELECT current_rev FROM plans WHERE id = ?", (plan_id,))
                assert row is not None
                if pause:
                    read.set()
                    await go_on.wait()
                await conn.execute(
                    "UPDATE plans SET current_rev = ? WHERE id = ?", (row[0] + 1, plan_id)
                )

        holding = asyncio.create_task(bump(first, pause=True))
        await read.wait()
        waiting = asyncio.create_task(bump(second, pause=False))
        await wait_until(lambda: waiting_on_a_lock(url), timeout=10)
        assert not waiting.done()
        go_on.set()
        await asyncio.gather(holding, waiting)
        assert await first.scalar("SELECT current_rev FROM plans WHERE id = ?", (plan_id,)) == (
            before + 2
        )


async def test_more_exclusive_holders_than_pooled_connections_all_get_their_turn(
    tmp_path: Path,
) -> None:
    """Forty drafts posted at once, each under its delivery key (Database.exclusive), each
    reading and writing while it holds its key: on PostgreSQL the holders once took the pool's
    twenty connections and then waited for one more each, for ever."""
    async with database_for(tmp_path) as db:
        async with db.transaction() as conn:
            await conn.execute("CREATE TABLE sent (key TEXT NOT NULL)")

        async def post(n: int) -> None:
            async with db.exclusive(f"draft-{n}"):
                await asyncio.sleep(0.01)  # the send to the platform takes a while
                await db.scalar("SELECT COUNT(*) FROM sent")
                async with db.transaction() as conn:
                    await conn.execute("INSERT INTO sent (key) VALUES (?)", (f"draft-{n}",))

        await asyncio.wait_for(asyncio.gather(*(post(n) for n in range(40))), 20)
        assert await db.scalar("SELECT COUNT(DISTINCT key) FROM sent") == 40
