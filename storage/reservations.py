"""The budget's queries: what today has committed, call reservations, and runs' reservations.

What is committed today is what steps spent today (`steps.cost_usd` by `ended_at`), plus every
open call reservation, plus for each queued or running run what it reserved and has neither
spent nor reserved for a call yet (never below 0). See pipeline/budget.py for the rules.

Each sum is over one pool: a workspace with a daily budget of its own, or (`pool` None) every
other workspace and the install's own work together.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Connection, changes, fetchone, insert

# A call's workspace: its step's, else its run's plan's. Parameters: (step_id, run_id).
WORKSPACE_OF_CALL = (
    "COALESCE((SELECT workspace FROM steps WHERE id = ?),"
    " (SELECT p.workspace FROM runs r JOIN plans p ON p.id = r.plan_id WHERE r.id = ?))"
)
OWN_BUDGETS = "SELECT workspace FROM workspace_settings WHERE daily_budget_usd IS NOT NULL"

_UNUSED_OF_RUN = (
    "r.reserved_usd"
    " - COALESCE((SELECT SUM(s.cost_usd) FROM steps s WHERE s.run_id = r.id), 0)"
    " - COALESCE((SELECT SUM(c.amount_usd) FROM reservations c"
    " WHERE c.run_id = r.id AND c.settled_at IS NULL), 0)"
)


@dataclass(frozen=True)
class Position:
    committed: float  # spent today + open call reservations + active runs' unused reservations
    unused_of_run: float  # of the run asked about; 0 when it is not queued or running


def _in_pool(column: str, pool: str | None) -> tuple[str, tuple[str, ...]]:
    if pool is not None:
        return f"{column} = ?", (pool,)
    return f"({column} IS NULL OR {column} NOT IN ({OWN_BUDGETS}))", ()


async def position(
    conn: Connection, *, since: float, run_id: int | None = None, pool: str | None = None
) -> Position:
    runs, runs_params = _in_pool("p.workspace", pool)
    spent, spent_params = _in_pool("workspace", pool)
    row = await fetchone(
        conn,
        f"WITH left_over AS (SELECT r.id, {_UNUSED_OF_RUN} AS usd FROM runs r"
        f" JOIN plans p ON p.id = r.plan_id WHERE r.status IN ('queued', 'running') AND {runs}),"
        # Never below 0, in SQL both databases speak (no two-argument MAX in PostgreSQL).
        " active AS (SELECT id, CASE WHEN usd > 0 THEN usd ELSE 0 END AS unused FROM left_over)"
        f" SELECT (SELECT COALESCE(SUM(cost_usd), 0) FROM steps WHERE ended_at >= ? AND {spent})"
        " + (SELECT COALESCE(SUM(amount_usd), 0) FROM reservations"
        f" WHERE settled_at IS NULL AND {spent})"
        " + (SELECT COALESCE(SUM(unused), 0) FROM active) AS committed,"
        " (SELECT COALESCE(SUM(unused), 0) FROM active WHERE id = ?) AS unused_of_run",
        (*runs_params, since, *spent_params, *spent_params, run_id),
    )
    assert row is not None
    return Position(float(row["committed"]), float(row["unused_of_run"]))


async def open_call(
    conn: Connection,
    *,
    amount_usd: float,
    run_id: int | None,
    step_id: int | None,
    now: float,
    owner: str,
) -> int:
    return await insert(
        conn,
        "INSERT INTO reservations (amount_usd, run_id, step_id, created_at, owner, workspace)"
        f" VALUES (?, ?, ?, ?, ?, {WORKSPACE_OF_CALL})",
        (amount_usd, run_id, step_id, now, owner, step_id, run_id),
    )


async def workspace_of_call(
    conn: Connection, *, step_id: int | None, run_id: int | None
) -> str | None:
    row = await fetchone(conn, f"SELECT {WORKSPACE_OF_CALL} AS workspace", (step_id, run_id))
    return None if row is None or row["workspace"] is None else str(row["workspace"])


async def add_to_call(conn: Connection, reservation_id: int, amount_usd: float) -> None:
    await conn.execute(
        "UPDATE reservations SET amount_usd = amount_usd + ? WHERE id = ? AND settled_at IS NULL",
        (amount_usd, reservation_id),
    )


async def settle(conn: Connection, reservation_id: int, *, spent_usd: float, now: float) -> None:
    """Close a call's reservation; a second settle of the same one changes nothing."""
    await conn.execute(
        "UPDATE reservations SET settled_at = ?, spent_usd = ? WHERE id = ? AND settled_at IS NULL",
        (now, spent_usd, reservation_id),
    )


async def settle_step(conn: Connection, step_id: int, *, spent_usd: float, now: float) -> None:
    await conn.execute(
        "UPDATE reservations SET settled_at = ?, spent_usd = ?"
        " WHERE step_id = ? AND settled_at IS NULL",
        (now, spent_usd, step_id),
    )


async def settle_interrupted(conn: Connection, *, now: float) -> int:
    """At start-up no call is in flight: every open reservation was left by a crash. What its
    step recorded is what was spent; the rest is released."""
    return await changes(
        conn,
        "UPDATE reservations SET settled_at = ?, spent_usd = COALESCE((SELECT s.cost_usd"
        " FROM steps s WHERE s.id = reservations.step_id), 0) WHERE settled_at IS NULL",
        (now,),
    )


@dataclass(frozen=True)
class RunMoney:
    active: bool  # queued or running
    reserved: float
    spent: float  # by every step of the run, on any day
    open_calls: float  # open call reservations of the run

    @property
    def unused(self) -> float:
        return max(self.reserved - self.spent - self.open_calls, 0.0) if self.active else 0.0


async def run_money(conn: Connection, run_id: int) -> RunMoney:
    row = await fetchone(
        conn,
        "SELECT r.status IN ('queued', 'running') AS active, r.reserved_usd AS reserved,"
        " COALESCE((SELECT SUM(s.cost_usd) FROM steps s WHERE s.run_id = r.id), 0) AS spent,"
        " COALESCE((SELECT SUM(c.amount_usd) FROM reservations c"
        " WHERE c.run_id = r.id AND c.settled_at IS NULL), 0) AS open_calls"
        " FROM runs r WHERE r.id = ?",
        (run_id,),
    )
    if row is None:
        raise LookupError(f"run {run_id} does not exist")
    return RunMoney(
        bool(row["active"]), float(row["reserved"]), float(row["spent"]), float(row["open_calls"])
    )


async def set_run_reserved(conn: Connection, run_id: int, reserved_usd: float) -> None:
    await conn.execute("UPDATE runs SET reserved_usd = ? WHERE id = ?", (reserved_usd, run_id))
