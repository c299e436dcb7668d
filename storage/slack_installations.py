"""Slack workspaces installed through OAuth, and the OAuth states of installs under way.

One row per workspace, keyed by (enterprise id or '', team id or ''): an org-wide install is
the enterprise's row with team ''. Tokens go in and come out in the clear; in the row they are
sealed (`storage.sealing`), so a copy of the database holds no usable token.

Uninstalling goes through `delete_workspace` alone: every table a workspace owns is emptied of
its rows there, in one transaction, so a table added later is added to `WORKSPACE_TABLES`.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage import workspace_settings
from storage.db import Connection, Row, changes, fetchall, fetchone
from storage.sealing import Sealer

# Every table holding rows of one Slack workspace, keyed by (enterprise_id, team_id); its
# settings (keyed by the core's workspace name) go with them.
WORKSPACE_TABLES = ("slack_installations",)

_COLUMNS = (
    "enterprise_id, team_id, enterprise_name, enterprise_url, team_name, app_id, bot_user_id, "
    "bot_id, bot_scopes, bot_token_sealed, bot_refresh_sealed, bot_token_expires_at, "
    "installer_user_id, installed_at, is_enterprise_install, token_type"
)
_UPDATED = [c.strip() for c in _COLUMNS.split(",")][2:]


@dataclass(frozen=True)
class SlackInstallation:
    enterprise_id: str | None
    team_id: str | None
    team_name: str | None
    app_id: str | None
    bot_user_id: str | None
    bot_id: str | None
    bot_scopes: str  # comma-separated, as Slack answers them
    bot_token: str
    bot_refresh_token: str | None
    bot_token_expires_at: int | None  # Unix seconds; None: the token does not expire
    installer_user_id: str | None
    installed_at: float
    is_enterprise_install: bool = False
    enterprise_name: str | None = None
    enterprise_url: str | None = None
    token_type: str | None = None


def workspace_key(enterprise_id: str | None, team_id: str | None) -> tuple[str, str]:
    return (enterprise_id or "", team_id or "")


async def save(conn: Connection, found: SlackInstallation, sealer: Sealer) -> None:
    """Insert the workspace's row, or replace what a row of the same workspace holds."""
    refresh = sealer.seal(found.bot_refresh_token) if found.bot_refresh_token else None
    values = (
        *workspace_key(found.enterprise_id, found.team_id),
        found.enterprise_name,
        found.enterprise_url,
        found.team_name,
        found.app_id,
        found.bot_user_id,
        found.bot_id,
        found.bot_scopes,
        sealer.seal(found.bot_token),
        refresh,
        found.bot_token_expires_at,
        found.installer_user_id,
        found.installed_at,
        int(found.is_enterprise_install),
        found.token_type,
    )
    updates = ", ".join(f"{c} = excluded.{c}" for c in _UPDATED)
    await conn.execute(
        f"INSERT INTO slack_installations ({_COLUMNS}) VALUES ({', '.join('?' * len(values))}) "
        f"ON CONFLICT (enterprise_id, team_id) DO UPDATE SET {updates}",
        values,
    )


async def find(
    conn: Connection, sealer: Sealer, enterprise_id: str | None, team_id: str | None
) -> SlackInstallation | None:
    row = await fetchone(
        conn,
        f"SELECT {_COLUMNS} FROM slack_installations WHERE enterprise_id = ? AND team_id = ?",
        workspace_key(enterprise_id, team_id),
    )
    return None if row is None else _installation(row, sealer)


async def installed(conn: Connection) -> list[tuple[str, str]]:
    """Every installed workspace's key (enterprise id or '', team id or ''), oldest first."""
    rows = await fetchall(
        conn, "SELECT enterprise_id, team_id FROM slack_installations ORDER BY installed_at"
    )
    return [(str(r["enterprise_id"]), str(r["team_id"])) for r in rows]


async def delete_workspace(
    conn: Connection, enterprise_id: str | None, team_id: str | None
) -> dict[str, int]:
    """Delete everything the workspace owns; how many rows went, per table. For an org-wide
    install (team None) that is the enterprise's own rows."""
    key = workspace_key(enterprise_id, team_id)
    deleted = {
        table: await changes(
            conn, f"DELETE FROM {table} WHERE enterprise_id = ? AND team_id = ?", key
        )
        for table in WORKSPACE_TABLES
    }
    deleted["workspace_settings"] = await workspace_settings.delete(
        conn, slack_workspace(enterprise_id, team_id)
    )
    return deleted


def slack_workspace(enterprise_id: str | None, team_id: str | None) -> str:
    """The core's name for the workspace (`slack:T…`; an org-wide install: `slack:E…`)."""
    return f"slack:{team_id or enterprise_id or ''}"


async def issue_state(conn: Connection, state: str, expires_at: float, now: float) -> None:
    await conn.execute("DELETE FROM slack_oauth_states WHERE expires_at <= ?", (now,))
    await conn.execute(
        "INSERT INTO slack_oauth_states (state, expires_at) VALUES (?, ?)", (state, expires_at)
    )


async def consume_state(conn: Connection, state: str, now: float) -> bool:
    """True once for a state issued and not yet expired; False after, and for any other."""
    gone = await changes(
        conn, "DELETE FROM slack_oauth_states WHERE state = ? AND expires_at > ?", (state, now)
    )
    return gone == 1


def _installation(row: Row, sealer: Sealer) -> SlackInstallation:
    refresh = row["bot_refresh_sealed"]
    expires = row["bot_token_expires_at"]
    return SlackInstallation(
        enterprise_id=row["enterprise_id"] or None,
        team_id=row["team_id"] or None,
        enterprise_name=row["enterprise_name"],
        enterprise_url=row["enterprise_url"],
        team_name=row["team_name"],
        app_id=row["app_id"],
        bot_user_id=row["bot_user_id"],
        bot_id=row["bot_id"],
        bot_scopes=str(row["bot_scopes"]),
        bot_token=sealer.open(str(row["bot_token_sealed"])),
        bot_refresh_token=sealer.open(str(refresh)) if refresh else None,
        bot_token_expires_at=None if expires is None else int(expires),
        installer_user_id=row["installer_user_id"],
        installed_at=float(row["installed_at"]),
        is_enterprise_install=bool(row["is_enterprise_install"]),
        token_type=row["token_type"],
    )
