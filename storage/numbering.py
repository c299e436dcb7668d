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
