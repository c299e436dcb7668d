"""Where each approved post went: its idempotency key (kept across retries), the revision it
carries, the destination's answer and the last error."""

from __future__ import annotations

from storage.db import Connection, changes, fetchone
from storage.models import Publication


async def reserve_publication(
    conn: Connection, post_id: int, key: str, target: str, *, rev: int
) -> None:
    """The idempotency key is stored before publishing, so a retry after a crash reuses it. A
    later revision (approved after an earlier one failed for good) gets its own key."""
    await conn.execute(
        "INSERT INTO publications (post_id, idempotency_key, target, rev) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (post_id) DO UPDATE SET idempotency_key = excluded.idempotency_key,"
        " target = excluded.target, rev = excluded.rev, error = NULL"
        " WHERE publications.published_at IS NULL"
        " AND publications.rev IS DISTINCT FROM excluded.rev",
        (post_id, key, target, rev),
    )


async def publication(conn: Connection, post_id: int) -> Publication | None:
    row = await fetchone(conn, "SELECT * FROM publications WHERE post_id = ?", (post_id,))
    return Publication.from_row(row) if row else None


async def note_publication_error(conn: Connection, post_id: int, error: str) -> bool:
    """Store a publishing error; True when it differs from the last one (worth announcing)."""
    changed = await changes(
        conn,
        "UPDATE publications SET error = ? WHERE post_id = ? AND error IS DISTINCT FROM ?",
        (error, post_id, error),
    )
    return changed > 0


async def record_publication(conn: Connection, post_id: int, location: str, *, now: float) -> None:
    await conn.execute(
        "UPDATE publications SET location = ?, published_at = ? WHERE post_id = ?",
        (location, now, post_id),
    )
