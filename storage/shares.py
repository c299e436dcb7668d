"""Shared links: one row per link, and the key that signs their tokens."""

from __future__ import annotations

from storage.db import Connection, changes, fetchall, fetchone, insert
from storage.models import Place, Share


async def create_share(
    conn: Connection,
    *,
    kind: str,
    target: int | None,
    place: Place,
    made_by: str,
    now: float,
    expires_at: float,
) -> Share:
    share_id = await insert(
        conn,
        "INSERT INTO shares (kind, target, platform, channel_id, made_by, created_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (kind, target, *place, made_by, now, expires_at),
    )
    share = await get_share(conn, share_id)
    assert share is not None
    return share


async def reusable_share(
    conn: Connection, *, kind: str, target: int | None, place: Place, valid_until: float
) -> Share | None:
    """A live link for the same thing in the same channel that lasts past `valid_until`."""
    row = await fetchone(
        conn,
        "SELECT * FROM shares WHERE kind = ? AND target IS NOT DISTINCT FROM ?"
        " AND platform = ? AND channel_id = ?"
        " AND expires_at > ? AND revoked_at IS NULL ORDER BY expires_at DESC LIMIT 1",
        (kind, target, *place, valid_until),
    )
    return Share.from_row(row) if row else None


async def get_share(conn: Connection, share_id: int) -> Share | None:
    row = await fetchone(conn, "SELECT * FROM shares WHERE id = ?", (share_id,))
    return Share.from_row(row) if row else None


async def live_shares(conn: Connection, place: Place, *, now: float, limit: int) -> list[Share]:
    rows = await fetchall(
        conn,
        "SELECT * FROM shares WHERE platform = ? AND channel_id = ? AND revoked_at IS NULL"
        " AND expires_at > ? ORDER BY id DESC LIMIT ?",
        (*place, now, limit),
    )
    return [Share.from_row(r) for r in rows]


async def revoke_share(conn: Connection, share_id: int, *, by: str, now: float) -> bool:
    return (
        await changes(
            conn,
            "UPDATE shares SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL",
            (now, by, share_id),
        )
        == 1
    )


async def kept_secret(conn: Connection, name: str, make: str, *, now: float) -> str:
    """The secret stored under `name`; `make` is stored first if there is none (once: a second
    process racing this keeps the first one's)."""
    await conn.execute(
        "INSERT INTO app_secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        (name, make, now),
    )
    row = await fetchone(conn, "SELECT value FROM app_secrets WHERE name = ?", (name,))
    assert row is not None
    return str(row["value"])
