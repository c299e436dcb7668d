"""Reaction history on drafts, kept per person and emoji, and reactions that arrived before
their message was linked (applied once it is)."""

from __future__ import annotations

from storage.db import Connection, fetchall


async def add_reaction(
    conn: Connection,
    *,
    post_id: int | None,
    plan_id: int | None,
    rev: int,
    user_id: str,
    action: str,
    added: bool,
    counted: bool,
    now: float,
    emoji: str = "",
) -> None:
    await conn.execute(
        "INSERT INTO reactions (post_id, plan_id, rev, user_id, action, added, counted, at, emoji)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (post_id, plan_id, rev, user_id, action, int(added), int(counted), now, emoji),
    )


async def reactions_on(
    conn: Connection, post_id: int, rev: int, *, counted_only: bool
) -> dict[tuple[str, str], tuple[str, bool]]:
    """The latest state of each (user, emoji) on a revision: its action and whether it is on."""
    rows = await fetchall(
        conn,
        "SELECT user_id, emoji, action, added FROM reactions WHERE post_id = ? AND rev = ?"
        + (" AND counted = 1" if counted_only else "")
        + " ORDER BY id",
        (post_id, rev),
    )
    latest: dict[tuple[str, str], tuple[str, bool]] = {}
    for row in rows:
        emoji = row["emoji"] or row["action"]
        latest[(row["user_id"], emoji)] = (row["action"], bool(row["added"]))
    return latest


async def active_reactors(conn: Connection, post_id: int, rev: int, action: str) -> list[str]:
    """Users with at least one counted emoji of this action still on this revision."""
    latest = await reactions_on(conn, post_id, rev, counted_only=True)
    return sorted({user for (user, _), (act, on) in latest.items() if on and act == action})


async def stash_early_reaction(
    conn: Connection,
    *,
    platform: str,
    channel_id: str,
    message_id: str,
    user_id: str,
    emoji: str,
    action: str,
    added: bool,
    now: float,
) -> None:
    await conn.execute(
        "INSERT INTO early_reactions (platform, channel_id, message_id, user_id, emoji, action,"
        " added, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (platform, channel_id, message_id, user_id, emoji, action, int(added), now),
    )


async def take_early_reactions(
    conn: Connection, platform: str, channel_id: str, message_id: str
) -> list[dict[str, object]]:
    """Reactions stashed for this message before it was linked, oldest first, and forget them."""
    rows = await fetchall(
        conn,
        "DELETE FROM early_reactions WHERE platform = ? AND channel_id = ? AND message_id = ?"
        " RETURNING user_id, emoji, action, added, id",
        (platform, channel_id, message_id),
    )
    return [dict(r) for r in sorted(rows, key=lambda r: int(r["id"]))]


async def forget_early_reactions(conn: Connection, *, before: float) -> None:
    """Reactions on messages that never became ours (any message in the channel) expire."""
    await conn.execute("DELETE FROM early_reactions WHERE at < ?", (before,))
