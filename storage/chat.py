"""What happened in chat: message links, deliveries, seen events, turns, references, reactions."""

from __future__ import annotations

from dataclasses import dataclass

from aiosqlite import Connection

from storage.db import changes, fetchall, fetchone, insert
from storage.models import ChatReference, MessageLink


async def link_message(
    conn: Connection,
    *,
    platform: str,
    channel_id: str,
    message_id: str,
    kind: str,
    now: float,
    plan_id: int | None = None,
    post_id: int | None = None,
    run_id: int | None = None,
    rev: int | None = None,
) -> None:
    await conn.execute(
        "INSERT OR REPLACE INTO messages (platform, channel_id, message_id, kind, plan_id,"
        " post_id, run_id, rev, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (platform, channel_id, message_id, kind, plan_id, post_id, run_id, rev, now),
    )


async def find_message(
    conn: Connection, platform: str, channel_id: str, message_id: str
) -> MessageLink | None:
    row = await fetchone(
        conn,
        "SELECT * FROM messages WHERE platform = ? AND channel_id = ? AND message_id = ?",
        (platform, channel_id, message_id),
    )
    return MessageLink.from_row(row) if row else None


async def latest_message(
    conn: Connection,
    *,
    kind: str,
    plan_id: int | None = None,
    post_id: int | None = None,
    run_id: int | None = None,
    platform: str | None = None,
) -> MessageLink | None:
    clauses = ["kind = ?"]
    params: list[object] = [kind]
    for column, value in (
        ("plan_id", plan_id),
        ("post_id", post_id),
        ("run_id", run_id),
        ("platform", platform),
    ):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    row = await fetchone(
        conn,
        f"SELECT * FROM messages WHERE {' AND '.join(clauses)} ORDER BY created_at DESC LIMIT 1",
        params,
    )
    return MessageLink.from_row(row) if row else None


async def awaiting_draft_messages(conn: Connection, platform: str) -> list[MessageLink]:
    """Draft cards of the current revision whose post still waits for approval."""
    rows = await fetchall(
        conn,
        "SELECT m.* FROM messages m JOIN posts p ON p.id = m.post_id AND p.rev = m.rev"
        " WHERE m.kind = 'draft' AND m.platform = ? AND p.status = 'awaiting_approval'",
        (platform,),
    )
    return [MessageLink.from_row(r) for r in rows]


@dataclass(frozen=True)
class Delivery:
    key: str
    platform: str
    channel_id: str
    message_id: str | None
    attempts: int


async def reserve_delivery(
    conn: Connection, key: str, *, platform: str, channel_id: str, now: float
) -> Delivery:
    row = await fetchone(
        conn,
        "INSERT INTO deliveries (key, platform, channel_id, attempts, created_at)"
        " VALUES (?, ?, ?, 1, ?) ON CONFLICT (key) DO UPDATE SET attempts = attempts + 1"
        " RETURNING *",
        (key, platform, channel_id, now),
    )
    assert row is not None
    return Delivery(
        key=row["key"],
        platform=row["platform"],
        channel_id=row["channel_id"],
        message_id=row["message_id"],
        attempts=int(row["attempts"]),
    )


async def get_delivery(conn: Connection, key: str) -> str | None:
    row = await fetchone(conn, "SELECT message_id FROM deliveries WHERE key = ?", (key,))
    return None if row is None else row["message_id"]


async def failed_drafts(conn: Connection, run_id: int) -> dict[int, str]:
    """Drafts of a run whose last attempt to post failed, by post id, with the error."""
    rows = await fetchall(
        conn,
        "SELECT p.id, d.error FROM posts p JOIN deliveries d ON d.key = 'draft:' || p.id || ':'"
        " || p.rev WHERE p.run_id = ? AND d.message_id IS NULL AND d.error IS NOT NULL",
        (run_id,),
    )
    return {int(r["id"]): str(r["error"]) for r in rows}


async def complete_delivery(
    conn: Connection, key: str, message_id: str | None, error: str | None = None
) -> None:
    await conn.execute(
        "UPDATE deliveries SET message_id = COALESCE(?, message_id), error = ? WHERE key = ?",
        (message_id, error, key),
    )


async def first_sighting(conn: Connection, platform: str, key: str, *, now: float) -> bool:
    """Record an inbound event's id; False when it was seen before (a redelivery)."""
    inserted = await changes(
        conn,
        "INSERT OR IGNORE INTO processed_events (platform, key, at) VALUES (?, ?, ?)",
        (platform, key, now),
    )
    return inserted == 1


async def was_seen(conn: Connection, platform: str, key: str) -> bool:
    row = await fetchone(
        conn, "SELECT 1 FROM processed_events WHERE platform = ? AND key = ?", (platform, key)
    )
    return row is not None


async def add_turn(
    conn: Connection,
    *,
    platform: str,
    channel_id: str,
    thread_id: str | None,
    message_id: str | None,
    role: str,
    author: str,
    text: str,
    now: float,
    plan_id: int | None = None,
) -> int:
    return await insert(
        conn,
        "INSERT INTO turns (platform, channel_id, thread_id, message_id, role, author, text,"
        " plan_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (platform, channel_id, thread_id, message_id, role, author, text, plan_id, now),
    )


async def set_turn_message(conn: Connection, turn_id: int, message_id: str) -> None:
    await conn.execute("UPDATE turns SET message_id = ? WHERE id = ?", (message_id, turn_id))


async def add_reference(conn: Connection, turn_id: int, post_id: int, how: str) -> None:
    await conn.execute(
        "INSERT OR IGNORE INTO chat_references (turn_id, post_id, how) VALUES (?, ?, ?)",
        (turn_id, post_id, how),
    )


async def references_to(conn: Connection, post_id: int) -> list[ChatReference]:
    rows = await fetchall(
        conn,
        "SELECT r.turn_id, r.post_id, r.how, t.platform, t.channel_id, t.thread_id,"
        " t.message_id, t.text, t.created_at FROM chat_references r"
        " JOIN turns t ON t.id = r.turn_id WHERE r.post_id = ? ORDER BY t.created_at, t.id",
        (post_id,),
    )
    return [ChatReference.from_row(r) for r in rows]


async def thread_turns(
    conn: Connection, platform: str, channel_id: str, thread_id: str, limit: int = 20
) -> list[tuple[str, str, str]]:
    rows = await fetchall(
        conn,
        "SELECT role, author, text FROM turns WHERE platform = ? AND channel_id = ?"
        " AND thread_id = ? ORDER BY id DESC LIMIT ?",
        (platform, channel_id, thread_id, limit),
    )
    return [(r["role"], r["author"], r["text"]) for r in reversed(rows)]


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


async def plan_delivery(
    conn: Connection, key: str, *, platform: str, channel_id: str, now: float
) -> None:
    """Promise a message before it is sent, in the transaction that makes it due: the sweeper
    sends every promised message that was never recorded as sent (a crash in between)."""
    await conn.execute(
        "INSERT OR IGNORE INTO deliveries (key, platform, channel_id, attempts, created_at)"
        " VALUES (?, ?, ?, 0, ?)",
        (key, platform, channel_id, now),
    )


async def unsent_deliveries(conn: Connection, prefix: str) -> list[str]:
    rows = await fetchall(
        conn,
        "SELECT key FROM deliveries WHERE message_id IS NULL AND key >= ? AND key < ?"
        " ORDER BY created_at",
        (prefix, prefix + "\uffff"),
    )
    return [str(r["key"]) for r in rows]


async def add_console_message(
    conn: Connection, *, text: str, thread_id: str | None, key: str | None, now: float
) -> int | None:
    """The new message's id (not yet printed); None when a message with this key exists."""
    row = await fetchone(
        conn,
        "INSERT INTO console_messages (thread_id, idempotency_key, text, created_at, printed)"
        " VALUES (?, ?, ?, ?, 0) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
        (thread_id, key, text, now),
    )
    return None if row is None else int(row["id"])


async def mark_console_printed(conn: Connection, message_id: int, shown: str) -> None:
    await conn.execute(
        "UPDATE console_messages SET printed = 1, shown = ? WHERE id = ?", (shown, message_id)
    )


async def unprinted_console_message(conn: Connection, key: str) -> tuple[int, str] | None:
    """A keyed message stored but never printed (the process died in between), and its text."""
    row = await fetchone(
        conn,
        "SELECT id, text FROM console_messages WHERE idempotency_key = ? AND printed = 0",
        (key,),
    )
    return None if row is None else (int(row["id"]), str(row["text"]))


async def console_message_by_key(conn: Connection, key: str) -> int | None:
    row = await fetchone(conn, "SELECT id FROM console_messages WHERE idempotency_key = ?", (key,))
    return None if row is None else int(row["id"])


async def console_message_thread(conn: Connection, message_id: int) -> str | None:
    row = await fetchone(conn, "SELECT thread_id FROM console_messages WHERE id = ?", (message_id,))
    return None if row is None else row["thread_id"]


async def record_start(conn: Connection, platform: str, *, now: float, window: float) -> int:
    """Record a start of `platform`; return how many earlier starts fall within `window` s."""
    await conn.execute("DELETE FROM platform_starts WHERE at < ?", (now - 86400,))
    row = await fetchone(
        conn,
        "SELECT COUNT(*) AS n FROM platform_starts WHERE platform = ? AND at >= ?",
        (platform, now - window),
    )
    await conn.execute("INSERT INTO platform_starts (platform, at) VALUES (?, ?)", (platform, now))
    return int(row["n"]) if row else 0
