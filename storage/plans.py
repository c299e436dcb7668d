"""Plans, their revisions, and runs (the run queue's table)."""

from __future__ import annotations

from storage.db import Connection, changes, fetchall, fetchone, insert, newest_ids
from storage.models import Place, Plan, PlanRevision, Run
from storage.numbering import next_number, next_of_plan


async def create_plan(
    conn: Connection,
    *,
    persona: str,
    pillar: str,
    idea: str,
    proposer: str,
    platform: str,
    channel_id: str,
    now: float,
    workspace: str | None = None,
) -> int:
    """A new plan, numbered within its workspace; returns its id (its key, not its number)."""
    number = await next_number(conn, "plan", workspace)
    return await insert(
        conn,
        "INSERT INTO plans (persona, pillar, idea, proposer, platform, channel_id, current_rev,"
        " created_at, workspace, number) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
        (persona, pillar, idea, proposer, platform, channel_id, now, workspace, number),
    )


async def discard_unwritten_plan(conn: Connection, plan_id: int) -> None:
    """Take back a plan whose card could not be posted before anything was spent on it: the
    plan, its planner step, that step's reservation and the /propose turn go, as if the command
    never ran."""
    await conn.execute("DELETE FROM turns WHERE plan_id = ? AND role = 'user'", (plan_id,))
    await conn.execute(
        "DELETE FROM reservations WHERE step_id IN (SELECT id FROM steps WHERE plan_id = ?)",
        (plan_id,),
    )
    await conn.execute("DELETE FROM steps WHERE plan_id = ?", (plan_id,))
    await conn.execute("DELETE FROM plans WHERE id = ? AND current_rev = 0", (plan_id,))


async def refinement_in_flight(conn: Connection, plan_id: int) -> bool:
    row = await fetchone(
        conn,
        "SELECT 1 FROM steps WHERE plan_id = ? AND name = 'plan'"
        " AND status IN ('queued', 'running') LIMIT 1",
        (plan_id,),
    )
    return row is not None


async def add_revision(conn: Connection, revision: PlanRevision) -> None:
    await conn.execute(
        "INSERT INTO plan_revisions (plan_id, rev, angle, rationale, special_message, spec_json,"
        " closest_post_id, note, author, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            revision.plan_id,
            revision.rev,
            revision.angle,
            revision.rationale,
            revision.special_message,
            revision.spec_json,
            revision.closest_post_id,
            revision.note,
            revision.author,
            revision.created_at,
        ),
    )
    await conn.execute(
        "UPDATE plans SET current_rev = ? WHERE id = ?", (revision.rev, revision.plan_id)
    )


async def get_plan(conn: Connection, plan_id: int) -> Plan | None:
    row = await fetchone(conn, "SELECT * FROM plans WHERE id = ?", (plan_id,))
    return Plan.from_row(row) if row else None


async def get_revision(conn: Connection, plan_id: int, rev: int) -> PlanRevision | None:
    row = await fetchone(
        conn, "SELECT * FROM plan_revisions WHERE plan_id = ? AND rev = ?", (plan_id, rev)
    )
    return PlanRevision.from_row(row) if row else None


async def plan_in(conn: Connection, plan_id: int, place: Place) -> Plan | None:
    """The plan if it was proposed in this channel; None if it does not exist or lives elsewhere."""
    row = await fetchone(
        conn,
        "SELECT * FROM plans WHERE id = ? AND platform = ? AND channel_id = ?",
        (plan_id, *place),
    )
    return Plan.from_row(row) if row else None


async def plan_numbered(conn: Connection, number: int, place: Place) -> Plan | None:
    """The plan people in this channel call `number`; None if there is none here. A channel
    lives in one workspace and numbers are unique within a workspace, so (place, number) is
    one plan at most."""
    row = await fetchone(
        conn,
        "SELECT * FROM plans WHERE number = ? AND platform = ? AND channel_id = ?",
        (number, *place),
    )
    return Plan.from_row(row) if row else None


async def recent_plan_ids(
    conn: Connection, limit: int = 25, *, place: Place | None = None
) -> list[int]:
    """The newest plans' ids, of one channel when `place` is given (what a user may see there)."""
    return await newest_ids(conn, "plans", limit, place)


async def recent_plan_numbers(conn: Connection, limit: int, *, place: Place) -> list[int]:
    """The numbers of the channel's newest plans, as people there know them."""
    return await newest_ids(conn, "plans", limit, place, column="number")


async def create_run(
    conn: Connection,
    *,
    plan_id: int,
    plan_rev: int,
    platform: str,
    channel_id: str,
    started_by: str,
    reserved_usd: float,
    now: float,
) -> int:
    """A queued run of the plan, numbered within the plan's workspace; returns its id."""
    number = await next_of_plan(conn, "run", plan_id)
    return await insert(
        conn,
        "INSERT INTO runs (plan_id, plan_rev, status, platform, channel_id, started_by,"
        " reserved_usd, created_at, number) VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?)",
        (plan_id, plan_rev, platform, channel_id, started_by, reserved_usd, now, number),
    )


async def get_run(conn: Connection, run_id: int) -> Run | None:
    row = await fetchone(conn, "SELECT * FROM runs WHERE id = ?", (run_id,))
    return Run.from_row(row) if row else None


async def active_run_for_plan(conn: Connection, plan_id: int) -> Run | None:
    row = await fetchone(
        conn,
        "SELECT * FROM runs WHERE plan_id = ? AND status IN ('queued', 'running')"
        " ORDER BY id DESC LIMIT 1",
        (plan_id,),
    )
    return Run.from_row(row) if row else None


async def revision_has_run(conn: Connection, plan_id: int, plan_rev: int) -> bool:
    row = await fetchone(
        conn, "SELECT 1 FROM runs WHERE plan_id = ? AND plan_rev = ? LIMIT 1", (plan_id, plan_rev)
    )
    return row is not None


async def claim_next_run(conn: Connection, owner: str) -> int | None:
    """The oldest queued run, now running in process `owner`."""
    row = await fetchone(
        conn,
        "UPDATE runs SET status = 'running', owner = ? WHERE id = (SELECT id FROM runs"
        " WHERE status = 'queued' ORDER BY id LIMIT 1) RETURNING id",
        (owner,),
    )
    return int(row["id"]) if row else None


async def claim_run(conn: Connection, run_id: int, owner: str) -> bool:
    """Run `run_id`, if it is queued, now running in process `owner`; False when it is not
    (done, failed, or running elsewhere): a job for it that comes twice or late does nothing."""
    claimed = await changes(
        conn,
        "UPDATE runs SET status = 'running', owner = ? WHERE id = ? AND status = 'queued'",
        (owner, run_id),
    )
    return claimed == 1


async def queued_runs(conn: Connection, limit: int = 100) -> list[int]:
    rows = await fetchall(
        conn, "SELECT id FROM runs WHERE status = 'queued' ORDER BY id LIMIT ?", (limit,)
    )
    return [int(r["id"]) for r in rows]


async def set_run_status(
    conn: Connection, run_id: int, status: str, *, now: float, error: str | None = None
) -> None:
    finished = now if status in ("done", "failed") else None
    await conn.execute(
        "UPDATE runs SET status = ?, error = ?, finished_at = ? WHERE id = ?",
        (status, error, finished, run_id),
    )


async def requeue(conn: Connection, run_id: int) -> None:
    await conn.execute(
        "UPDATE runs SET status = 'queued', finished_at = NULL, error = NULL WHERE id = ?",
        (run_id,),
    )


async def requeue_interrupted(conn: Connection) -> int:
    """Runs left 'running' by a crash go back to the queue and resume where they stopped."""
    return await changes(conn, "UPDATE runs SET status = 'queued' WHERE status = 'running'")


async def unfinished_runs(conn: Connection) -> int:
    row = await fetchone(
        conn, "SELECT COUNT(*) AS n FROM runs WHERE status IN ('queued', 'running')"
    )
    return int(row["n"]) if row else 0


async def runs_of_plan(conn: Connection, plan_id: int) -> list[Run]:
    rows = await fetchall(conn, "SELECT * FROM runs WHERE plan_id = ? ORDER BY id DESC", (plan_id,))
    return [Run.from_row(r) for r in rows]
