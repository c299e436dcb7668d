"""SIGKILL at twenty points across a run of the seed's batch.

Each point is a moment the database shows (a step committed, a provider call under way, a draft
reserved but not yet recorded as posted ...). After each kill the bot is started again: the run
completes, no finished step runs again, every item has exactly one draft message.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import SEED_IDEA, SEED_SPECIAL
from tests.test_crash_resume import environment, query

RUNS = "SELECT COUNT(*) FROM runs"
DONE = "SELECT COUNT(*) FROM steps WHERE status = 'done'"
RESERVED = "SELECT COUNT(*) FROM deliveries WHERE key LIKE 'draft:%'"
POSTED = "SELECT COUNT(*) FROM deliveries WHERE key LIKE 'draft:%' AND message_id IS NOT NULL"
READY = "SELECT COUNT(*) FROM posts WHERE status = 'awaiting_approval'"

# Counters that only grow during a run, so every point is reached; between them, provider calls
# are under way (the offline providers are given latency to hold each call open).
POINTS = [
    (RUNS, 1),  # the run queued, its batch of drafts about to be written
    (DONE, 6),  # the batch of drafts committed, item steps starting
    *((DONE, n) for n in range(7, 17)),  # each item step committed
    (READY, 1),  # an item finished, its draft not yet reserved
    (READY, 3),
    (RESERVED, 1),  # a draft reserved for posting, maybe posted, not recorded
    (RESERVED, 2),
    (RESERVED, 4),
    (POSTED, 1),  # a draft posted and recorded
    (POSTED, 2),
    (POSTED, 4),
]


def kill_when(db: Path, sql: str, minimum: int, process: subprocess.Popen[str]) -> bool:
    """SIGKILL as soon as `sql` reaches `minimum`; False if the bot got past it first."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if db.exists() and query(db, sql)[0][0] >= minimum:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
                return True
        except sqlite3.OperationalError:
            pass
        time.sleep(0.002)
    raise AssertionError(f"never reached {sql!r} >= {minimum}")


@pytest.mark.parametrize(("sql", "minimum"), POINTS, ids=[f"p{i}" for i in range(len(POINTS))])
def test_kill_at_a_point_then_restart_completes_the_run(
    tmp_path: Path, sql: str, minimum: int
) -> None:
    db = tmp_path / "draftroom.db"
    env = environment(tmp_path) | {"OFFLINE_LATENCY_S": "0.05"}
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot", "console"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert bot.stdin is not None
    bot.stdin.write(f'/propose {SEED_IDEA} special:"{SEED_SPECIAL}"\n/run 1\n')
    bot.stdin.flush()
    kill_when(db, sql, minimum, bot)
    done_before = query(db, "SELECT id, ended_at, attempts FROM steps WHERE status = 'done'")

    again = subprocess.run(
        [sys.executable, "-m", "bot", "console"],
        input="wait\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert again.returncode == 0, again.stderr
    if query(db, "SELECT COUNT(*) FROM runs") == [(0,)]:
        pytest.fail("killed before /run was recorded: the point is too early")
    assert query(db, "SELECT status FROM runs") == [("done",)]
    assert query(db, READY) == [(5,)]
    for step_id, ended_at, attempts in done_before:
        after = query(db, f"SELECT ended_at, attempts FROM steps WHERE id = {step_id}")
        assert after == [(ended_at, attempts)], f"finished step {step_id} ran again"
    per_post = query(
        db,
        "SELECT idempotency_key, COUNT(*) FROM console_messages"
        " WHERE idempotency_key LIKE 'draft:%' GROUP BY idempotency_key",
    )
    assert sorted(key for key, _ in per_post) == [f"draft:{n}:1" for n in range(1, 6)]
    assert {count for _, count in per_post} == {1}
