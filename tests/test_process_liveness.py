"""On PostgreSQL a process that died is told from one that is only slow by its liveness lock
(storage/liveness.py): a run left by a dead process is taken over after a couple of missed
heartbeats, not after the whole lease, and a live process's run is never taken, however late
its heartbeat."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage import plans, processes
from storage.db import Database
from storage.liveness import PostgresLiveness
from tests import support
from tests.support import database_for

LEASE_S, GRACE_S, NOW = 60.0, 10.0, 1000.0


@pytest.fixture(autouse=True)
def postgres_only(backend: str) -> None:
    if backend == "sqlite":
        pytest.skip("one process uses a SQLite file: at start it takes over everything")


async def a_running_run(db: Database, owner: str, *, heartbeat_at: float) -> int:
    async with db.transaction() as conn:
        await processes.register(conn, owner, now=heartbeat_at)
        plan_id = await plans.create_plan(
            conn, persona="ai_editor", pillar="x", idea="left running", proposer="u",
            platform="console", channel_id="c", now=1.0,
        )  # fmt: skip
        run_id = await plans.create_run(
            conn, plan_id=plan_id, plan_rev=1, platform="console", channel_id="c",
            started_by="u", reserved_usd=0, now=1.0,
        )  # fmt: skip
        assert await plans.claim_run(conn, run_id, owner)
    return run_id


async def status_after_a_sweep(db: Database, run_id: int) -> str:
    async with db.transaction() as conn:
        await processes.take_over(
            conn, "sweeper", now=NOW, lease_s=LEASE_S, grace_s=GRACE_S, at_start=False
        )
    return str(await db.scalar("SELECT status FROM runs WHERE id = ?", (run_id,)))


async def test_a_dead_process_s_run_is_taken_over_after_the_grace_not_the_lease(
    tmp_path: Path,
) -> None:
    async with database_for(tmp_path) as db:
        run_id = await a_running_run(db, "dead", heartbeat_at=NOW - GRACE_S - 1)
        assert await status_after_a_sweep(db, run_id) == "queued"
        assert await db.scalar("SELECT COUNT(*) FROM processes WHERE id = 'dead'") == 0


async def test_a_live_process_with_a_late_heartbeat_keeps_its_run(tmp_path: Path) -> None:
    assert support.DATABASE_URL is not None
    alive = PostgresLiveness(support.DATABASE_URL, "slow")
    await alive.hold()
    try:
        async with database_for(tmp_path) as db:
            run_id = await a_running_run(db, "slow", heartbeat_at=NOW - LEASE_S + 1)
            assert await status_after_a_sweep(db, run_id) == "running"
            # Dies: its session closes, and the next sweep takes the run.
            await alive.release()
            assert await status_after_a_sweep(db, run_id) == "queued"
    finally:
        await alive.release()


async def test_a_process_silent_for_the_whole_lease_is_taken_over_even_holding_its_lock(
    tmp_path: Path,
) -> None:
    assert support.DATABASE_URL is not None
    stuck = PostgresLiveness(support.DATABASE_URL, "stuck")
    await stuck.hold()
    try:
        async with database_for(tmp_path) as db:
            run_id = await a_running_run(db, "stuck", heartbeat_at=NOW - LEASE_S - 1)
            assert await status_after_a_sweep(db, run_id) == "queued"
    finally:
        await stuck.release()


async def test_a_process_that_just_beat_keeps_its_run_while_its_lock_is_being_retaken(
    tmp_path: Path,
) -> None:
    async with database_for(tmp_path) as db:
        run_id = await a_running_run(db, "reconnecting", heartbeat_at=NOW - GRACE_S + 1)
        assert await status_after_a_sweep(db, run_id) == "running"
