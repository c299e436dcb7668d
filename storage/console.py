"""The console's own channel: its messages live in the database, so their ids survive a restart
like a platform's would."""

from __future__ import annotations

from storage.db import Connection, fetchone


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
