"""A crash in the middle of a run: the bot is killed with SIGKILL and started again.

The run must finish with no finished step repeated and no draft posted twice.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.support import SEED_IDEA, SEED_SPECIAL


def environment(tmp_path: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DRAFTROOM_DB": str(tmp_path / "draftroom.db"),
        "DRAFTROOM_MEDIA_DIR": str(tmp_path / "media"),
        "DRAFTROOM_OUTBOX_DIR": str(tmp_path / "outbox"),
        "OFFLINE_LATENCY_S": "0.4",
        "IMAGE_CONCURRENCY": "1",
    }
    for name in ("SLACK_BOT_TOKEN", "DISCORD_BOT_TOKEN"):
        env.pop(name, None)
    return env


def query(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        return conn.execute(sql).fetchall()


def wait_for(db: Path, sql: str, minimum: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if db.exists():
            try:
                if query(db, sql)[0][0] >= minimum:
                    return
            except sqlite3.OperationalError:
                pass  # tables not created yet
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {sql!r} >= {minimum}")


def test_sigkill_mid_run_then_restart_finishes_without_repeats(tmp_path: Path) -> None:
    db = tmp_path / "draftroom.db"
    env = environment(tmp_path)
    first = subprocess.Popen(
        [sys.executable, "-m", "bot", "console"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert first.stdin is not None
    first.stdin.write(f'/propose {SEED_IDEA} special:"{SEED_SPECIAL}"\n/run 1\n')
    first.stdin.flush()
    # Kill once some items are finished and posted, and others are still in their steps.
    wait_for(db, "SELECT COUNT(*) FROM steps WHERE name = 'hero_card' AND status = 'done'", 2)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)

    finished_before = dict(
        (row[0], row[1:])
        for row in query(
            db, "SELECT id, ended_at, attempts, artifact FROM steps WHERE status = 'done'"
        )
    )
    unfinished = query(db, "SELECT COUNT(*) FROM steps WHERE status IN ('queued', 'running')")
    assert unfinished[0][0] > 0, "the kill came too late to test a resume"

    second = subprocess.run(
        [sys.executable, "-m", "bot", "console"],
        input="wait\n/posts\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert second.returncode == 0, second.stderr

    assert query(db, "SELECT status FROM runs") == [("done",)]
    assert query(db, "SELECT COUNT(*) FROM posts WHERE status = 'awaiting_approval'") == [(5,)]
    assert query(db, "SELECT COUNT(*) FROM steps WHERE status IN ('queued', 'running')") == [(0,)]
    for step_id, before in finished_before.items():
        after = query(db, f"SELECT ended_at, attempts, artifact FROM steps WHERE id = {step_id}")
        assert after == [before], f"finished step {step_id} was run again"
    duplicates = query(
        db,
        "SELECT post_id, name, COUNT(*) FROM steps WHERE post_id IS NOT NULL"
        " GROUP BY post_id, post_rev, name HAVING COUNT(*) > 1",
    )
    assert duplicates == []
    drafts = query(
        db,
        "SELECT idempotency_key, COUNT(*) FROM console_messages"
        " WHERE idempotency_key LIKE 'draft:%' GROUP BY idempotency_key",
    )
    assert sorted(key for key, _ in drafts) == [f"draft:{n}:1" for n in range(1, 6)]
    assert all(count == 1 for _, count in drafts)
    assert second.stdout.count("5 recent posts") == 1
