"""Publish times (`posts.publish_at`) and expired drafts.

Every change here is a conditional update on the post row: a time is set or cleared only while
the post can still take one, and a draft expires only while it is still waiting for approval,
so none of these can race a claim for publishing (storage/posts.py `claim_for_publishing`).
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Connection, fetchall, fetchone
from storage.models import Place, Post

# The states in which a post may be given a time, or have it changed or removed.
SCHEDULABLE = ("drafting", "awaiting_approval", "approved")
# A post in these states takes its slot; rejected, failed and expired ones free theirs.
_HOLDS_SLOT = "status NOT IN ('rejected', 'failed', 'expired')"
_SCHEDULABLE = "status IN ('drafting', 'awaiting_approval', 'approved')"


@dataclass(frozen=True)
class Scheduled:
    post_id: int
    persona: str
    content_format: str
    status: str
    headline: str
    publish_at: float
    scheduled_by: str | None
    number: int  # as people in its workspace call it


async def publish_time(conn: Connection, post_id: int) -> float | None:
    row = await fetchone(conn, "SELECT publish_at FROM posts WHERE id = ?", (post_id,))
    return None if row is None or row["publish_at"] is None else float(row["publish_at"])


async def set_publish_at(
    conn: Connection, post_id: int, at: float, *, by: str | None = None
) -> str | None:
    """Give the post its time (and, with `by`, say who chose it); the post's status, or None when
    it can no longer take one (being published, published, rejected...)."""
    row = await fetchone(
        conn,
        "UPDATE posts SET publish_at = ?, scheduled_by = coalesce(?, scheduled_by)"
        f" WHERE id = ? AND {_SCHEDULABLE} RETURNING status",
        (at, by, post_id),
    )
    return None if row is None else str(row["status"])


async def clear_publish_at(conn: Connection, post_id: int) -> str | None:
    """Remove the post's time; its status, or None when it had none or can no longer change."""
    row = await fetchone(
        conn,
        "UPDATE posts SET publish_at = NULL, scheduled_by = NULL"
        f" WHERE id = ? AND publish_at IS NOT NULL AND {_SCHEDULABLE} RETURNING status",
        (post_id,),
    )
    return None if row is None else str(row["status"])


async def taken_times(
    conn: Connection, persona: str, *, since: float, exclude_post: int
) -> list[float]:
    """The persona's publish times from `since` on, held by posts that will or did go out."""
    rows = await fetchall(
        conn,
        "SELECT publish_at FROM posts WHERE persona = ? AND publish_at >= ? AND id != ?"
        f" AND {_HOLDS_SLOT} ORDER BY publish_at",
        (persona, since, exclude_post),
    )
    return [float(r["publish_at"]) for r in rows]


async def scheduled_in(
    conn: Connection, place: Place, *, persona: str | None = None, limit: int = 50
) -> list[Scheduled]:
    """A channel's posts that have a time and have not gone out, soonest first."""
    sql = (
        "SELECT id, number, persona, content_format, status, headline, publish_at, scheduled_by"
        " FROM posts WHERE platform = ? AND channel_id = ? AND publish_at IS NOT NULL"
        f" AND {_SCHEDULABLE}"
    )
    params: list[object] = [*place]
    if persona is not None:
        sql += " AND persona = ?"
        params.append(persona)
    rows = await fetchall(conn, sql + " ORDER BY publish_at, id LIMIT ?", (*params, limit))
    return [
        Scheduled(
            post_id=int(r["id"]),
            persona=str(r["persona"]),
            content_format=str(r["content_format"]),
            status=str(r["status"]),
            headline=str(r["headline"]),
            publish_at=float(r["publish_at"]),
            scheduled_by=r["scheduled_by"],
            number=int(r["number"]),
        )
        for r in rows
    ]


async def expire_waiting(
    conn: Connection, *, waiting_since: float, now: float, limit: int = 200
) -> list[Post]:
    """Drafts waiting for approval since `waiting_since` or before become `expired`, each
    remembered for its card to be edited."""
    rows = await fetchall(
        conn,
        "SELECT id FROM posts WHERE status = 'awaiting_approval' AND status_changed_at <= ?"
        " ORDER BY status_changed_at LIMIT ?",
        (waiting_since, limit),
    )
    expired = []
    for row in rows:
        found = await fetchone(
            conn,
            "UPDATE posts SET status = 'expired', status_changed_at = ?"
            " WHERE id = ? AND status = 'awaiting_approval' AND status_changed_at <= ?"
            " RETURNING *",
            (now, row["id"], waiting_since),
        )
        if found is None:
            continue
        post = Post.from_row(found)
        await conn.execute(
            "INSERT INTO post_status_history (post_id, status, at) VALUES (?, 'expired', ?)",
            (post.id, now),
        )
        await conn.execute(
            "INSERT INTO post_expiries (post_id, rev, expired_at) VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (post.id, post.rev, now),
        )
        expired.append(post)
    return expired


async def unedited_expiries(conn: Connection, limit: int = 200) -> list[tuple[int, int]]:
    """(post, revision) of expired drafts whose card does not say so yet."""
    rows = await fetchall(
        conn,
        "SELECT post_id, rev FROM post_expiries WHERE card_edited_at IS NULL"
        " ORDER BY post_id LIMIT ?",
        (limit,),
    )
    return [(int(r["post_id"]), int(r["rev"])) for r in rows]


async def card_edited(conn: Connection, post_id: int, rev: int, *, now: float) -> None:
    await conn.execute(
        "UPDATE post_expiries SET card_edited_at = ? WHERE post_id = ? AND rev = ?",
        (now, post_id, rev),
    )
