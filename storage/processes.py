"""The processes sharing the database, and taking over what a stopped one left.

Every process that works (runs, calls, publishes) registers and beats every few seconds, and
marks what it works on with its id (`owner`). A process whose heartbeat is older than the lease
has stopped (killed, crashed, cut off), and what it left is taken over: its running runs go
back to the queue (they resume at their first unfinished step, paid steps never repeated, a fal
request fetched rather than submitted anew), its plan and answer calls fail as interrupted, its
open call reservations settle to what their step recorded, and its publishing tries are pending
again (their destination looks for what the try may have made before making anything).

SQLite: one process uses the file, so at start everything another process left is taken over
at once, as restart recovery always was; nothing is taken over later. PostgreSQL: at start and
on every sweep, only what stopped processes left; a process that died is known by its liveness
lock being gone (storage/liveness.py) within a couple of heartbeats, a silent one by the lease.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from storage import plans, publication_targets, reservations, steps
from storage.db import Connection, changes
from storage.liveness import HOLDS_LIVENESS_LOCK


@dataclass(frozen=True)
class TakenOver:
    runs: int = 0
    calls: int = 0
    reservations: int = 0
    publishing: int = 0

    def __bool__(self) -> bool:
        return any((self.runs, self.calls, self.reservations, self.publishing))


async def register(conn: Connection, me: str, *, now: float) -> None:
    await conn.execute(
        "INSERT INTO processes (id, started_at, heartbeat_at) VALUES (?, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
        (me, now, now),
    )


async def beat(conn: Connection, me: str, *, now: float) -> None:
    """I am alive. A process found stopped has had its row deleted: it registers again (what
    it held was taken over; the database rows guard against doing any of it twice)."""
    await register(conn, me, now=now)


async def take_over(
    conn: Connection, me: str, *, now: float, lease_s: float, grace_s: float, at_start: bool
) -> TakenOver:
    """In the caller's transaction: take over what stopped processes left. On PostgreSQL a
    process has stopped when it has not beaten for `lease_s`, or for `grace_s` with its
    liveness lock gone (storage/liveness.py: it died, and the server saw its socket close)."""
    if conn.dialect == "sqlite":
        if not at_start:
            return TakenOver()
        taken = TakenOver(
            runs=await plans.requeue_interrupted(conn),
            calls=await steps.fail_interrupted_calls(conn, now=now),
            reservations=await reservations.settle_interrupted(conn, now=now),
            publishing=await publication_targets.release_interrupted(conn, now=now),
        )
        await conn.execute("DELETE FROM processes WHERE id <> ?", (me,))
        return taken
    alive = HOLDS_LIVENESS_LOCK.format(id="p.id")
    stopped = (
        "(owner IS NULL OR (owner <> ? AND owner NOT IN (SELECT p.id FROM processes p"
        f" WHERE p.heartbeat_at >= ? AND (p.heartbeat_at >= ? OR {alive}))))"
    )
    taken = await _release(conn, stopped, [me, now - lease_s, now - grace_s], now=now)
    if at_start:
        # As on SQLite: a start is when an operator has fixed what was failing, so waiting
        # retries are due at once (with the same keys: nothing is posted twice).
        await conn.execute("UPDATE publication_targets SET retry_at = NULL WHERE state = 'pending'")
    await conn.execute(
        "DELETE FROM processes p WHERE p.id <> ? AND (p.heartbeat_at < ?"
        f" OR (p.heartbeat_at < ? AND NOT {alive}))",
        (me, now - lease_s, now - grace_s),
    )
    return taken


async def hand_back(conn: Connection, me: str, *, now: float) -> TakenOver:
    """A clean stop: what this process still holds is left as a stopped process's would be,
    for the next one to take at once, and it leaves the table."""
    released = await _release(conn, "owner = ?", [me], now=now)
    await conn.execute("DELETE FROM processes WHERE id = ?", (me,))
    return released


async def _release(conn: Connection, whose: str, params: list[Any], *, now: float) -> TakenOver:
    """Put back what the owners `whose` (a condition on `owner`) held."""
    return TakenOver(
        runs=await changes(
            conn,
            f"UPDATE runs SET status = 'queued', owner = NULL WHERE status = 'running' AND {whose}",
            params,
        ),
        # A plan or answer call is marked running (with its owner) just before its request.
        calls=await changes(
            conn,
            "UPDATE steps SET status = 'failed', error = 'interrupted by a restart', ended_at = ?"
            f" WHERE run_id IS NULL AND status = 'running' AND {whose}",
            [now, *params],
        ),
        reservations=await changes(
            conn,
            "UPDATE reservations SET settled_at = ?, spent_usd = COALESCE((SELECT s.cost_usd"
            f" FROM steps s WHERE s.id = reservations.step_id), 0) WHERE settled_at IS NULL"
            f" AND {whose}",
            [now, *params],
        ),
        publishing=await changes(
            conn,
            "UPDATE publication_targets SET state = 'pending', retry_at = NULL, owner = NULL,"
            f" updated_at = ? WHERE state = 'publishing' AND {whose}",
            [now, *params],
        ),
    )
