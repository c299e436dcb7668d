"""Posts (one per item of a run), their status history, and the library search index."""

from __future__ import annotations

from storage import fulltext
from storage.db import Connection, fetchall, fetchone, insert, newest_ids
from storage.models import Place, Post, PostRevision
from storage.numbering import next_of_plan


async def create_post(
    conn: Connection,
    *,
    run_id: int,
    plan_id: int,
    plan_rev: int,
    item_index: int,
    persona: str,
    pillar: str,
    content_format: str,
    now: float,
) -> int:
    # The post lives where its plan does: the plan's platform and channel are copied in, and
    # it is numbered within the plan's workspace.
    number = await next_of_plan(conn, "post", plan_id)
    post_id = await insert(
        conn,
        "INSERT INTO posts (run_id, plan_id, plan_rev, item_index, persona, pillar,"
        " content_format, status, status_changed_at, created_at, platform, channel_id, number)"
        " SELECT ?, ?, ?, ?, ?, ?, ?, 'drafting', ?, ?, platform, channel_id, ?"
        " FROM plans WHERE id = ?",
        (
            *(run_id, plan_id, plan_rev, item_index, persona, pillar, content_format),
            *(now, now, number, plan_id),
        ),
    )
    await conn.execute(
        "INSERT INTO post_status_history (post_id, status, at) VALUES (?, 'drafting', ?)",
        (post_id, now),
    )
    return post_id


async def get_post(conn: Connection, post_id: int) -> Post | None:
    row = await fetchone(conn, "SELECT * FROM posts WHERE id = ?", (post_id,))
    return Post.from_row(row) if row else None


async def posts_of_run(conn: Connection, run_id: int) -> list[Post]:
    rows = await fetchall(
        conn, "SELECT * FROM posts WHERE run_id = ? ORDER BY item_index", (run_id,)
    )
    return [Post.from_row(r) for r in rows]


async def set_status(
    conn: Connection,
    post_id: int,
    status: str,
    *,
    now: float,
    by_user: str | None = None,
    error: str | None = None,
) -> None:
    await conn.execute(
        "UPDATE posts SET status = ?, status_changed_at = ?, error = ? WHERE id = ?",
        (status, now, error, post_id),
    )
    await conn.execute(
        "INSERT INTO post_status_history (post_id, status, at, by_user) VALUES (?, ?, ?, ?)",
        (post_id, status, now, by_user),
    )


async def set_content(
    conn: Connection,
    post_id: int,
    *,
    headline: str,
    body: str,
    caption: str,
    video_script: str,
    plan_text: str,
    new: bool = False,
) -> None:
    """The post's text, kept for its revision too, and its row in the search index (`new`: it
    has none yet)."""
    await conn.execute(
        "UPDATE posts SET headline = ?, body = ?, caption = ?, video_script = ? WHERE id = ?",
        (headline, body, caption, video_script, post_id),
    )
    await conn.execute(
        "INSERT INTO post_revisions"
        " (post_id, rev, headline, body, caption, video_script, created_at)"
        " SELECT id, rev, headline, body, caption, video_script, status_changed_at"
        " FROM posts WHERE id = ?"
        " ON CONFLICT (post_id, rev) DO UPDATE SET headline = excluded.headline,"
        " body = excluded.body, caption = excluded.caption,"
        " video_script = excluded.video_script, created_at = excluded.created_at",
        (post_id,),
    )
    await fulltext.index(conn, post_id, (f"{headline}\n{body}", caption, plan_text), new=new)


async def new_revision(conn: Connection, post_id: int, *, now: float) -> int:
    row = await fetchone(
        conn, "UPDATE posts SET rev = rev + 1 WHERE id = ? RETURNING rev", (post_id,)
    )
    if row is None:
        raise LookupError(f"post {post_id} does not exist")
    await set_status(conn, post_id, "drafting", now=now)
    return int(row["rev"])


async def recent_posts(
    conn: Connection,
    *,
    place: Place,
    persona: str,
    pillar: str | None = None,
    limit: int = 20,
) -> list[Post]:
    sql = "SELECT * FROM posts WHERE platform = ? AND channel_id = ? AND persona = ?"
    params = [*place, persona]
    if pillar is not None:
        sql += " AND pillar = ?"
        params.append(pillar)
    rows = await fetchall(
        conn,
        sql + " AND body != '' ORDER BY created_at DESC, id DESC LIMIT ?",
        (*params, limit),
    )
    return [Post.from_row(r) for r in rows]


async def list_posts(
    conn: Connection, *, place: Place, status: str | None, persona: str | None, limit: int = 20
) -> list[Post]:
    clauses, params = ["platform = ?", "channel_id = ?"], [*place]
    if status:
        clauses.append("status = ?")
        params.append(status)
    if persona:
        clauses.append("persona = ?")
        params.append(persona)
    where = f"WHERE {' AND '.join(clauses)}"
    rows = await fetchall(
        conn, f"SELECT * FROM posts {where} ORDER BY id DESC LIMIT ?", (*params, limit)
    )
    return [Post.from_row(r) for r in rows]


async def recent_post_ids(
    conn: Connection, limit: int = 25, *, place: Place | None = None
) -> list[int]:
    """The newest posts' ids, of one channel when `place` is given (what a user may see there)."""
    return await newest_ids(conn, "posts", limit, place)


async def recent_post_numbers(conn: Connection, limit: int, *, place: Place) -> list[int]:
    """The numbers of the channel's newest posts, as people there know them."""
    return await newest_ids(conn, "posts", limit, place, column="number")


async def post_in(conn: Connection, post_id: int, place: Place) -> Post | None:
    """The post if it belongs to this channel; None if it does not exist or lives elsewhere."""
    row = await fetchone(
        conn,
        "SELECT * FROM posts WHERE id = ? AND platform = ? AND channel_id = ?",
        (post_id, *place),
    )
    return Post.from_row(row) if row else None


async def post_numbered(conn: Connection, number: int, place: Place) -> Post | None:
    """The post people in this channel call `number`; None if there is none here (numbers are
    unique within the workspace the channel lives in)."""
    row = await fetchone(
        conn,
        "SELECT * FROM posts WHERE number = ? AND platform = ? AND channel_id = ?",
        (number, *place),
    )
    return Post.from_row(row) if row else None


async def posts_needing_delivery(conn: Connection) -> list[Post]:
    """Finished drafts whose draft card has not been recorded as posted."""
    rows = await fetchall(
        conn,
        "SELECT p.* FROM posts p WHERE p.status IN ('awaiting_approval', 'failed') AND NOT EXISTS"
        " (SELECT 1 FROM deliveries d WHERE d.key = 'draft:' || p.id || ':' || p.rev"
        " AND d.message_id IS NOT NULL) ORDER BY p.id",
    )
    return [Post.from_row(r) for r in rows]


async def approved_unpublished(conn: Connection, *, now: float) -> list[Post]:
    """Approved posts due now: unscheduled, or scheduled for `now` or before."""
    rows = await fetchall(
        conn,
        "SELECT * FROM posts WHERE status = 'approved' AND (publish_at IS NULL OR publish_at <= ?)"
        " ORDER BY id",
        (now,),
    )
    return [Post.from_row(r) for r in rows]


async def claim_for_publishing(conn: Connection, post_id: int, *, now: float) -> Post | None:
    """Move an approved post to `publishing` and return it as it is at that moment; None when
    it is not approved (already claimed, published, or changed) or its publish time is still
    ahead. While it is publishing, no revision, withdrawal or second publish can touch it: the
    row is the guard."""
    row = await fetchone(
        conn,
        "UPDATE posts SET status = 'publishing', status_changed_at = ?"
        " WHERE id = ? AND status = 'approved' AND (publish_at IS NULL OR publish_at <= ?)"
        " RETURNING *",
        (now, post_id, now),
    )
    if row is None:
        return None
    await conn.execute(
        "INSERT INTO post_status_history (post_id, status, at) VALUES (?, 'publishing', ?)",
        (post_id, now),
    )
    return Post.from_row(row)


async def finish_publishing(
    conn: Connection, post_id: int, status: str, *, now: float, error: str | None = None
) -> bool:
    """`publishing` → published or failed, once: False when the post had already moved on."""
    row = await fetchone(
        conn,
        "UPDATE posts SET status = ?, status_changed_at = ?, error = ?"
        " WHERE id = ? AND status = 'publishing' RETURNING id",
        (status, now, error, post_id),
    )
    if row is None:
        return False
    await conn.execute(
        "INSERT INTO post_status_history (post_id, status, at) VALUES (?, ?, ?)",
        (post_id, status, now),
    )
    return True


async def set_video_script(conn: Connection, post_id: int, script: str) -> None:
    await conn.execute("UPDATE posts SET video_script = ? WHERE id = ?", (script, post_id))


async def revisions_of(conn: Connection, post_id: int) -> list[PostRevision]:
    rows = await fetchall(
        conn, "SELECT * FROM post_revisions WHERE post_id = ? ORDER BY rev", (post_id,)
    )
    return [PostRevision.from_row(r) for r in rows]
