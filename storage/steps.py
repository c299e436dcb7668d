"""Pipeline steps: what each call did, cost and took, and the cost sums /costs shows."""

from __future__ import annotations

import json
from typing import Any

from storage.db import Connection, changes, fetchall, fetchone, insert
from storage.models import Step

ANY_WORKSPACE = "*"  # no workspace is named so: costs_by_day over all of them

# A step's workspace, written as it is inserted: the one given (an /ask), else its plan's,
# directly or through its run. Parameters: (workspace, plan_id, run_id).
WORKSPACE_OF_STEP = (
    "COALESCE(?, (SELECT workspace FROM plans WHERE id ="
    " COALESCE(?, (SELECT plan_id FROM runs WHERE id = ?))))"
)


async def add_step(
    conn: Connection,
    *,
    name: str,
    position: int,
    plan_id: int | None = None,
    plan_rev: int | None = None,
    run_id: int | None = None,
    post_id: int | None = None,
    post_rev: int | None = None,
    inputs: dict[str, Any] | None = None,
    workspace: str | None = None,
) -> int:
    return await insert(
        conn,
        "INSERT INTO steps (plan_id, plan_rev, run_id, post_id, post_rev, position, name, status,"
        f" input_json, workspace) VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, {WORKSPACE_OF_STEP})",
        (
            plan_id,
            plan_rev,
            run_id,
            post_id,
            post_rev,
            position,
            name,
            json.dumps(inputs) if inputs else None,
            workspace,
            plan_id,
            run_id,
        ),
    )


async def add_done_step(
    conn: Connection,
    *,
    name: str,
    run_id: int,
    post_id: int,
    started_at: float,
    ended_at: float,
    attempts: int,
    provider: str,
    model: str,
    cost_usd: float | None,
    latency_s: float,
) -> int:
    """A step whose call already happened (an item's share of the batch draft), in one write."""
    return await insert(
        conn,
        "INSERT INTO steps (run_id, post_id, post_rev, position, name, status, provider, model,"
        " cost_usd, cost_known, latency_s, started_at, ended_at, attempts, workspace)"
        f" VALUES (?, ?, 1, 0, ?, 'done', ?, ?, ?, ?, ?, ?, ?, ?, {WORKSPACE_OF_STEP})",
        (
            run_id,
            post_id,
            name,
            provider,
            model,
            cost_usd,
            int(cost_usd is not None),
            latency_s,
            started_at,
            ended_at,
            attempts,
            None,
            None,
            run_id,
        ),
    )


async def get_step(conn: Connection, step_id: int) -> Step | None:
    row = await fetchone(conn, "SELECT * FROM steps WHERE id = ?", (step_id,))
    return Step.from_row(row) if row else None


async def steps_of_post(conn: Connection, post_id: int, post_rev: int) -> list[Step]:
    rows = await fetchall(
        conn,
        "SELECT * FROM steps WHERE post_id = ? AND post_rev = ? ORDER BY position, id",
        (post_id, post_rev),
    )
    return [Step.from_row(r) for r in rows]


async def steps_of_run(conn: Connection, run_id: int) -> list[Step]:
    rows = await fetchall(
        conn, "SELECT * FROM steps WHERE run_id = ? ORDER BY post_id, position, id", (run_id,)
    )
    return [Step.from_row(r) for r in rows]


async def plan_step(conn: Connection, plan_id: int, plan_rev: int) -> Step | None:
    row = await fetchone(
        conn,
        "SELECT * FROM steps WHERE plan_id = ? AND plan_rev = ? AND post_id IS NULL"
        " ORDER BY id DESC LIMIT 1",
        (plan_id, plan_rev),
    )
    return Step.from_row(row) if row else None


async def mark_running(conn: Connection, step_id: int, *, now: float, owner: str) -> None:
    await conn.execute(
        "UPDATE steps SET status = 'running', attempts = attempts + 1,"
        " started_at = COALESCE(started_at, ?), error = NULL, owner = ? WHERE id = ?",
        (now, owner, step_id),
    )


async def save_handle(conn: Connection, step_id: int, handle: dict[str, Any]) -> None:
    await conn.execute(
        "UPDATE steps SET handle_json = ? WHERE id = ?", (json.dumps(handle), step_id)
    )


async def note_error(conn: Connection, step_id: int, error: str) -> None:
    """An attempt failed and will be retried: the step says so while it waits."""
    await conn.execute("UPDATE steps SET error = ? WHERE id = ?", (error, step_id))


async def finish_step(
    conn: Connection,
    step_id: int,
    *,
    status: str,
    now: float,
    attempts: int | None = None,
    provider: str | None = None,
    model: str | None = None,
    artifact: str | None = None,
    cost_usd: float | None = None,
    latency_s: float | None = None,
    error: str | None = None,
    output: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        "UPDATE steps SET status = ?, provider = COALESCE(?, provider),"
        " model = COALESCE(?, model), artifact = ?, cost_usd = ?, cost_known = ?,"
        " latency_s = ?, ended_at = ?, started_at = COALESCE(started_at, ?), error = ?,"
        " output_json = ?, attempts = COALESCE(?, attempts) WHERE id = ?",
        (
            status,
            provider,
            model,
            artifact,
            cost_usd,
            0 if cost_usd is None and status == "done" else 1,
            latency_s,
            now,
            now,
            error,
            json.dumps(output) if output is not None else None,
            attempts,
            step_id,
        ),
    )


async def costs_by_day(
    conn: Connection,
    since: float,
    until: float | None = None,
    *,
    place: tuple[str, str] | None = None,
    workspace: str | None = ANY_WORKSPACE,
) -> list[dict[str, Any]]:
    """Cost per UTC day, persona and provider, from `since` up to `until` (excluded); with
    `place`, only what the channel's plans and posts spent (answers to /ask belong to no plan);
    with `workspace`, only what that workspace spent (None: the install's own, the console's).
    Plan steps count for the plan's persona."""
    where, params = "", []
    if place is not None:
        where = " AND COALESCE(p.platform, pl.platform) = ?"
        where += " AND COALESCE(p.channel_id, pl.channel_id) = ?"
        params = list(place)
    if workspace != ANY_WORKSPACE:
        where += " AND COALESCE(s.workspace, '') = ?"
        params.append(workspace or "")
    day = (
        "date(s.ended_at, 'unixepoch')"
        if conn.dialect == "sqlite"
        else "to_char(to_timestamp(s.ended_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    )
    rows = await fetchall(
        conn,
        f"SELECT {day} AS day,"
        " COALESCE(p.persona, pl.persona, '?') AS who, COALESCE(s.provider, '?') AS via,"
        " COALESCE(SUM(s.cost_usd), 0) AS cost, COUNT(*) AS steps,"
        " SUM(CASE WHEN s.cost_known = 0 THEN 1 ELSE 0 END) AS unknown"
        " FROM steps s LEFT JOIN posts p ON p.id = s.post_id"
        " LEFT JOIN plans pl ON pl.id = s.plan_id"
        " WHERE s.ended_at >= ? AND s.ended_at < ? AND s.status IN ('done', 'failed')"
        + where
        + " GROUP BY day, who, via ORDER BY day DESC, who, via",
        (since, float("inf") if until is None else until, *params),
    )
    return [
        {
            "day": r["day"],
            "persona": r["who"],
            "provider": r["via"],
            "cost": r["cost"],
            "steps": r["steps"],
            "unknown": r["unknown"],
        }
        for r in rows
    ]


async def fail_interrupted_calls(conn: Connection, *, now: float) -> int:
    """Plan and answer calls (steps outside any run) cut off by a crash: they never resume."""
    return await changes(
        conn,
        "UPDATE steps SET status = 'failed', error = 'interrupted by a restart', ended_at = ?"
        " WHERE run_id IS NULL AND status IN ('queued', 'running')",
        (now,),
    )


async def artifacts_of_post(conn: Connection, post_id: int) -> set[str]:
    """Every file a step of the post stored, in any revision, posters included."""
    rows = await fetchall(
        conn,
        "SELECT artifact, output_json FROM steps WHERE post_id = ? AND artifact IS NOT NULL",
        (post_id,),
    )
    found = set()
    for row in rows:
        found.add(str(row["artifact"]))
        poster = json.loads(row["output_json"] or "{}").get("poster")
        if isinstance(poster, str):
            found.add(poster)
    return found
