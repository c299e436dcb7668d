"""The numbers people see and type for plans and posts, counted within each workspace
(migrations/0023_workspace_numbers.sql)."""

from __future__ import annotations

from typing import Literal

from storage.db import Connection

Kind = Literal["plan", "post", "run"]


async def next_number(conn: Connection, kind: Kind, workspace: str | None) -> int:
    """The workspace's next number of `kind`, taken inside the caller's transaction: the row it
    bumps stays locked until that transaction ends, so a concurrent one waits and takes the
    number after it (and a rolled-back one gives its number back)."""
    rows = await conn.execute_fetchall(
        "INSERT INTO workspace_numbers (workspace, kind, last) VALUES (?, ?, 1 + COALESCE("
        "(SELECT last FROM workspace_numbers WHERE workspace = '*' AND kind = ?), 0))"
        " ON CONFLICT (workspace, kind) DO UPDATE SET last = workspace_numbers.last + 1"
        " RETURNING last",
        (workspace or "", kind, kind),
    )
    return int(next(iter(rows))[0])


async def next_of_plan(conn: Connection, kind: Kind, plan_id: int) -> int:
    """The next number of `kind` in the workspace of the plan (a run's, a post's)."""
    rows = await conn.execute_fetchall("SELECT workspace FROM plans WHERE id = ?", (plan_id,))
    found = next(iter(rows), None)
    return await next_number(conn, kind, found["workspace"] if found else None)
