"""A workspace's own rules, one row per workspace (see migrations/0020_workspace_settings.sql),
and what it publishes: its personas and its approval channel
(migrations/0022_workspace_publishing.sql).

Lists are stored comma-separated: qualified ids (`slack:U0AB12,slack:U0CD34`), persona handles
(`aiaaron,labnotes`, the first the workspace's default)."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Connection, changes, fetchone


@dataclass(frozen=True)
class WorkspaceRow:
    workspace: str
    approvers: tuple[str, ...]
    editors: tuple[str, ...]
    approvals_required: int
    allow_self_approval: bool
    daily_budget_usd: float | None  # None: the install's DAILY_BUDGET_USD
    updated_by: str
    updated_at: float


def _ids(text: str) -> tuple[str, ...]:
    return tuple(one for one in text.split(",") if one)


async def get(conn: Connection, workspace: str) -> WorkspaceRow | None:
    row = await fetchone(conn, "SELECT * FROM workspace_settings WHERE workspace = ?", (workspace,))
    if row is None:
        return None
    budget = row["daily_budget_usd"]
    return WorkspaceRow(
        workspace=str(row["workspace"]),
        approvers=_ids(str(row["approvers"])),
        editors=_ids(str(row["editors"])),
        approvals_required=int(row["approvals_required"]),
        allow_self_approval=bool(row["allow_self_approval"]),
        daily_budget_usd=None if budget is None else float(budget),
        updated_by=str(row["updated_by"]),
        updated_at=float(row["updated_at"]),
    )


async def put(conn: Connection, row: WorkspaceRow) -> None:
    """Insert the workspace's row, or replace it whole: a save writes every field at once."""
    await conn.execute(
        "INSERT INTO workspace_settings (workspace, approvers, editors, approvals_required,"
        " allow_self_approval, daily_budget_usd, updated_by, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (workspace) DO UPDATE SET approvers = excluded.approvers,"
        " editors = excluded.editors, approvals_required = excluded.approvals_required,"
        " allow_self_approval = excluded.allow_self_approval,"
        " daily_budget_usd = excluded.daily_budget_usd,"
        " updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        (
            row.workspace,
            ",".join(row.approvers),
            ",".join(row.editors),
            row.approvals_required,
            int(row.allow_self_approval),
            row.daily_budget_usd,
            row.updated_by,
            row.updated_at,
        ),
    )


async def get_personas(conn: Connection, workspace: str) -> tuple[str, ...] | None:
    """The workspace's persona handles, its default first; None: it chose none of its own."""
    row = await fetchone(
        conn, "SELECT personas FROM workspace_publishing WHERE workspace = ?", (workspace,)
    )
    return None if row is None or row["personas"] is None else _ids(str(row["personas"]))


async def get_approval_channel(conn: Connection, workspace: str) -> str | None:
    """The channel the workspace's drafts are posted in; None: where each plan was proposed."""
    row = await fetchone(
        conn, "SELECT approval_channel FROM workspace_publishing WHERE workspace = ?", (workspace,)
    )
    return None if row is None or row["approval_channel"] is None else str(row["approval_channel"])


async def put_personas(
    conn: Connection, workspace: str, handles: tuple[str, ...], *, who: str, now: float
) -> None:
    await _put_one(conn, workspace, "personas", ",".join(handles), who, now)


async def put_approval_channel(
    conn: Connection, workspace: str, channel: str | None, *, who: str, now: float
) -> None:
    await _put_one(conn, workspace, "approval_channel", channel, who, now)


async def _put_one(
    conn: Connection, workspace: str, column: str, value: str | None, who: str, now: float
) -> None:
    """Set one column of the workspace's publishing row, leaving the other as it was."""
    await conn.execute(
        f"INSERT INTO workspace_publishing (workspace, {column}, updated_by, updated_at)"
        " VALUES (?, ?, ?, ?)"
        f" ON CONFLICT (workspace) DO UPDATE SET {column} = excluded.{column},"
        " updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        (workspace, value, who, now),
    )


async def delete(conn: Connection, workspace: str) -> int:
    """Delete the workspace's rules, publishing row and own destinations; how many rows went."""
    deleted = 0
    for table in ("workspace_settings", "workspace_publishing", "workspace_destinations"):
        deleted += await changes(conn, f"DELETE FROM {table} WHERE workspace = ?", (workspace,))
    return deleted
