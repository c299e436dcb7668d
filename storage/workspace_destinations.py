"""A workspace's own publishing destinations (migrations/0024_workspace_destinations.sql), their
credentials sealed: what is read back here is opened with the install's key, and what is
written is sealed before it reaches the database."""

from __future__ import annotations

import json
from dataclasses import dataclass

from storage.db import Connection, Row, changes, fetchall
from storage.sealing import Sealer


@dataclass(frozen=True)
class WorkspaceDestination:
    workspace: str
    persona: str
    kind: str  # bluesky, mastodon, x
    options: dict[str, str]  # plain values: handle, instance
    secrets: dict[str, str]  # the credentials, in the clear (in memory only)
    updated_by: str = ""
    updated_at: float = 0.0


async def put(conn: Connection, sealer: Sealer, found: WorkspaceDestination) -> None:
    """Store the destination, replacing the workspace's earlier one of that persona and kind."""
    await conn.execute(
        "INSERT INTO workspace_destinations (workspace, persona, kind, options_json,"
        " secrets_sealed, updated_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (workspace, persona, kind) DO UPDATE SET"
        " options_json = excluded.options_json, secrets_sealed = excluded.secrets_sealed,"
        " updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        (
            found.workspace,
            found.persona,
            found.kind,
            json.dumps(found.options, sort_keys=True),
            sealer.seal(json.dumps(found.secrets, sort_keys=True)),
            found.updated_by,
            found.updated_at,
        ),
    )


async def remove(conn: Connection, workspace: str, persona: str, kind: str) -> bool:
    """Drop one destination; whether there was one."""
    return (
        await changes(
            conn,
            "DELETE FROM workspace_destinations WHERE workspace = ? AND persona = ? AND kind = ?",
            (workspace, persona, kind),
        )
        > 0
    )


async def of_workspace(
    conn: Connection, sealer: Sealer, workspace: str, *, persona: str | None = None
) -> list[WorkspaceDestination]:
    """The workspace's destinations (of one persona when given), by persona then kind, their
    credentials opened (UnsealError if SECRETS_KEY no longer opens them)."""
    sql = "SELECT * FROM workspace_destinations WHERE workspace = ?"
    params: tuple[str, ...] = (workspace,)
    if persona is not None:
        sql += " AND persona = ?"
        params = (workspace, persona)
    rows = await fetchall(conn, sql + " ORDER BY persona, kind", params)
    return [_destination(r, json.loads(sealer.open(str(r["secrets_sealed"])))) for r in rows]


async def listed(conn: Connection, workspace: str) -> list[WorkspaceDestination]:
    """The workspace's destinations as shown: everything but the credentials, left sealed."""
    rows = await fetchall(
        conn,
        "SELECT workspace, persona, kind, options_json, updated_by, updated_at"
        " FROM workspace_destinations WHERE workspace = ? ORDER BY persona, kind",
        (workspace,),
    )
    return [_destination(r, {}) for r in rows]


def _destination(row: Row, secrets: dict[str, str]) -> WorkspaceDestination:
    return WorkspaceDestination(
        workspace=str(row["workspace"]),
        persona=str(row["persona"]),
        kind=str(row["kind"]),
        options=json.loads(row["options_json"]),
        secrets=secrets,
        updated_by=str(row["updated_by"]),
        updated_at=float(row["updated_at"]),
    )
