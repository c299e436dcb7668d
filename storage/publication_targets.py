"""Each destination a post revision is published to: its state, key, live id and URL, tries."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Connection, changes, fetchall, fetchone
from storage.models import Record


@dataclass(frozen=True)
class Target(Record):
    post_id: int
    rev: int
    destination: str
    name: str
    state: str
    idempotency_key: str
    remote_id: str | None
    url: str | None
    attempts: int
    last_error: str | None
    retry_at: float | None
    updated_at: float

    @property
    def settled(self) -> bool:
        return self.state in ("published", "failed")


async def plan_targets(
    conn: Connection,
    post_id: int,
    rev: int,
    destinations: list[tuple[str, str, str]],
    *,
    now: float,
) -> None:
    """A pending row per (kind, name, idempotency key) not yet planned: a key is fixed once."""
    for position, (kind, name, key) in enumerate(destinations):
        await conn.execute(
            "INSERT INTO publication_targets"
            " (post_id, rev, destination, name, state, idempotency_key, updated_at, position)"
            " VALUES (?, ?, ?, ?, 'pending', ?, ?, ?) ON CONFLICT DO NOTHING",
            (post_id, rev, kind, name, key, now, position),
        )


async def targets_of(conn: Connection, post_id: int, rev: int) -> list[Target]:
    rows = await fetchall(
        conn,
        "SELECT * FROM publication_targets WHERE post_id = ? AND rev = ? ORDER BY position",
        (post_id, rev),
    )
    return [Target.from_row(r) for r in rows]


async def claim_target(
    conn: Connection, post_id: int, rev: int, kind: str, *, now: float, owner: str
) -> Target | None:
    """pending (and due) → publishing in process `owner`, counting the attempt; None when
    someone else has it, it is settled, or its retry is not due yet."""
    row = await fetchone(
        conn,
        "UPDATE publication_targets SET state = 'publishing', attempts = attempts + 1,"
        " updated_at = ?, owner = ? WHERE post_id = ? AND rev = ? AND destination = ?"
        " AND state = 'pending' AND (retry_at IS NULL OR retry_at <= ?) RETURNING *",
        (now, owner, post_id, rev, kind, now),
    )
    return Target.from_row(row) if row else None


async def record_published(
    conn: Connection, target: Target, remote_id: str, url: str, *, now: float
) -> None:
    await conn.execute(
        "UPDATE publication_targets SET state = 'published', remote_id = ?, url = ?,"
        " last_error = NULL, retry_at = NULL, updated_at = ?"
        " WHERE post_id = ? AND rev = ? AND destination = ?",
        (remote_id, url, now, target.post_id, target.rev, target.destination),
    )


async def record_failure(
    conn: Connection, target: Target, error: str, *, retry_at: float | None, now: float
) -> bool:
    """A failed try: pending again until `retry_at`, or failed for good when it is None. True
    when the error is new for this destination (worth saying in chat once)."""
    news = target.last_error != error
    await conn.execute(
        "UPDATE publication_targets SET state = ?, last_error = ?, retry_at = ?, updated_at = ?"
        " WHERE post_id = ? AND rev = ? AND destination = ?",
        (
            "failed" if retry_at is None else "pending",
            error,
            retry_at,
            now,
            target.post_id,
            target.rev,
            target.destination,
        ),
    )
    return news


async def release_interrupted(conn: Connection, *, now: float) -> int:
    """At start-up: a try a crash cut off has an unknown outcome; it is pending again, and its
    destination looks for what it may have made before making anything (the same key). Waiting
    retries are due at once: a restart is when an operator has fixed what was failing."""
    return await changes(
        conn,
        "UPDATE publication_targets SET state = 'pending', retry_at = NULL, updated_at = ?"
        " WHERE state IN ('publishing', 'pending')",
        (now,),
    )


async def posts_to_continue(conn: Connection, *, now: float) -> list[int]:
    """Posts being published with a destination due for a try, or none planned yet (a crash
    between claiming the post and planning its destinations, or an older database)."""
    rows = await fetchall(
        conn,
        "SELECT p.id FROM posts p WHERE p.status = 'publishing' AND ("
        " NOT EXISTS (SELECT 1 FROM publication_targets t WHERE t.post_id = p.id AND t.rev = p.rev)"
        " OR EXISTS (SELECT 1 FROM publication_targets t WHERE t.post_id = p.id AND t.rev = p.rev"
        " AND t.state = 'pending' AND (t.retry_at IS NULL OR t.retry_at <= ?))) ORDER BY p.id",
        (now,),
    )
    return [int(r["id"]) for r in rows]
