"""What happened in chat: message links, deliveries, seen events, turns, references, starts."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Connection, changes, fetchall, fetchone, insert
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
        "INSERT INTO messages (platform, channel_id, message_id, kind, plan_id,"
        " post_id, run_id, rev, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (platform, channel_id, message_id) DO UPDATE SET kind = excluded.kind,"
        " plan_id = excluded.plan_id, post_id = excluded.post_id, run_id = excluded.run_id,"
        " rev = excluded.rev, created_at = excluded.created_at",
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
        " VALUES (?, ?, ?, 1, ?) ON CONFLICT (key)"
        " DO UPDATE SET attempts = deliveries.attempts + 1"
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
    """Record a one-shot id (a command's request, a notice) as done; False when it was recorded
    before (a redelivery). Nothing is released: a crash halfway loses that one."""
    inserted = await changes(
        conn,
        "INSERT INTO processed_events (platform, key, at, done_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (platform, key, now, now),
    )
    return inserted == 1


async def claim_event(
    conn: Connection, platform: str, key: str, *, by: str, now: float, lease: float
) -> bool:
    """Claim an inbound event for `by` before handling it; False when it is done, or claimed
    by someone less than `lease` seconds ago. One statement, so two processes on one database
    cannot both win; an older claim (its process died) is taken over."""
    won = await changes(
        conn,
        "INSERT INTO processed_events (platform, key, at, claimed_by) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (platform, key) DO UPDATE SET at = excluded.at,"
        " claimed_by = excluded.claimed_by"
        " WHERE processed_events.done_at IS NULL AND processed_events.at <= ?",
        (platform, key, now, by, now - lease),
    )
    return won == 1


async def finish_event(conn: Connection, platform: str, key: str, *, by: str, now: float) -> None:
    """The event was handled: done for everyone, whoever holds the claim by now."""
    await conn.execute(
        "INSERT INTO processed_events (platform, key, at, claimed_by, done_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (platform, key)"
        " DO UPDATE SET done_at = COALESCE(processed_events.done_at, excluded.done_at)",
        (platform, key, now, by, now),
    )


async def release_event(conn: Connection, platform: str, key: str, *, by: str) -> None:
    """Give up `by`'s claim (the work failed or waits for its message): a redelivery may try."""
    await conn.execute(
        "DELETE FROM processed_events WHERE platform = ? AND key = ? AND claimed_by = ?"
        " AND done_at IS NULL",
        (platform, key, by),
    )


async def event_done(conn: Connection, platform: str, key: str) -> bool:
    row = await fetchone(
        conn,
        "SELECT 1 FROM processed_events WHERE platform = ? AND key = ? AND done_at IS NOT NULL",
        (platform, key),
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
    url: str | None = None,
) -> int:
    return await insert(
        conn,
        "INSERT INTO turns (platform, channel_id, thread_id, message_id, role, author, text,"
        " plan_id, created_at, url) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (platform, channel_id, thread_id, message_id, role, author, text, plan_id, now, url),
    )


async def add_reference(conn: Connection, turn_id: int, post_id: int, how: str) -> None:
    await conn.execute(
        "INSERT INTO chat_references (turn_id, post_id, how) VALUES (?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (turn_id, post_id, how),
    )


async def references_to(conn: Connection, post_id: int) -> list[ChatReference]:
    rows = await fetchall(
        conn,
        "SELECT r.turn_id, r.post_id, r.how, t.platform, t.channel_id, t.thread_id,"
        " t.message_id, t.text, t.created_at, t.url FROM chat_references r"
        " JOIN turns t ON t.id = r.turn_id WHERE r.post_id = ? ORDER BY t.created_at, t.id",
        (post_id,),
    )
    return [ChatReference.from_row(r) for r in rows]


async def plan_delivery(
    conn: Connection, key: str, *, platform: str, channel_id: str, now: float
) -> None:
    """Promise a message before it is sent, in the transaction that makes it due: the sweeper
    sends every promised message that was never recorded as sent (a crash in between)."""
    await conn.execute(
        "INSERT INTO deliveries (key, platform, channel_id, attempts, created_at)"
        " VALUES (?, ?, ?, 0, ?) ON CONFLICT DO NOTHING",
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
