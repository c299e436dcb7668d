"""The library of bench/storage_fill.py at 100,000 posts, reshaped into one Slack channel as a
team's two years of use leave it: every plan, run, post, message, turn and delivery moved to
PLACE; each plan shifted in time so the plans are spread evenly over the 730 days before
yesterday (a plan's own steps, status changes and replies keep their spacing); every bot turn
given a Slack permalink; every post's text kept as revision 1, and every tenth post regenerated
once (revision 2 with a changed body and caption, and its steps run again at that revision).

Cached in bench/.cache/ (gitignored) next to the library it is made from, under the same key.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

from bench.storage_fill import CACHE, POSTS_PER_PLAN, cached_database, schema_key

PLACE = ("slack", "C000")
SPREAD_DAYS = 730
REGENERATED_EVERY = 10
# Every table the fill writes that names a channel.
PLACED = ("plans", "runs", "posts", "messages", "deliveries", "turns")


def one_channel_library(posts: int) -> Path:
    """The path of the reshaped library of `posts` posts, building it if it is not cached."""
    path = CACHE / f"web-{posts}-{schema_key()}.db"
    if path.exists():
        return path
    source = cached_database(posts)
    for stale in CACHE.glob(f"web-{posts}-*.db"):
        stale.unlink()
    building = path.with_suffix(".building")
    started = time.perf_counter()
    shutil.copyfile(source, building)
    reshape(building)
    print(f"built {path.name} in {time.perf_counter() - started:.0f} s")
    building.rename(path)
    return path


def reshape(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("BEGIN")
    for table in PLACED:
        conn.execute(f"UPDATE {table} SET platform = ?, channel_id = ?", PLACE)
    conn.execute("UPDATE post_search SET place = ?", (f"{PLACE[0]}{PLACE[1].lower()}",))
    _spread_in_time(conn)
    conn.execute(
        "UPDATE turns SET url = 'https://draftroom-bench.slack.com/archives/' || channel_id"
        " || '/p' || (1600000000000000 + id) WHERE role = 'bot'"
    )
    _revisions(conn)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


def _spread_in_time(conn: sqlite3.Connection) -> None:
    """Shift each row by its plan's offset: plan n moves by base + n * extra seconds."""
    plans, newest = conn.execute("SELECT COUNT(*), MAX(created_at) FROM plans").fetchone()
    gap = SPREAD_DAYS * 86400 / plans
    extra = gap - (newest - conn.execute("SELECT MIN(created_at) FROM plans").fetchone()[0]) / max(
        1, plans - 1
    )
    base = time.time() - 86400 - (newest + plans * extra)
    by_post = f"(({{}} - 1) / {POSTS_PER_PLAN} + 1)"  # a post's plan, as the fill numbers them
    shifts = {
        "plans": ("id", ("created_at",)),
        "plan_revisions": ("plan_id", ("created_at",)),
        "runs": ("id", ("created_at", "finished_at")),
        "posts": ("plan_id", ("created_at", "status_changed_at")),
        "steps": ("COALESCE(run_id, plan_id)", ("started_at", "ended_at")),
        "turns": ("plan_id", ("created_at",)),
        "messages": ("plan_id", ("created_at",)),
        "post_status_history": (by_post.format("post_id"), ("at",)),
        "reactions": (by_post.format("post_id"), ("at",)),
        "publications": (by_post.format("post_id"), ("published_at",)),
        "deliveries": (
            by_post.format("CAST(substr(key, 7, instr(substr(key, 7), ':') - 1) AS INTEGER)"),
            ("created_at",),
        ),
    }
    for table, (plan, columns) in shifts.items():
        sets = ", ".join(f"{c} = {c} + ?1 + ({plan}) * ?2" for c in columns)
        conn.execute(f"UPDATE {table} SET {sets}", (base, extra))


def _revisions(conn: sqlite3.Connection) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO post_revisions"
        " (post_id, rev, headline, body, caption, video_script, created_at)"
        " SELECT id, 1, headline, body, caption, video_script, status_changed_at FROM posts"
    )
    every = f"id % {REGENERATED_EVERY} = 0"
    conn.execute(
        "INSERT INTO post_revisions"
        " (post_id, rev, headline, body, caption, video_script, created_at)"
        " SELECT id, 2, headline, replace(replace(body, ' the ', ' a '), '.', ', again.'),"
        f" 'Again: ' || caption, video_script, status_changed_at + 600 FROM posts WHERE {every}"
    )
    columns = (
        "run_id, post_id, position, name, status, provider, model, artifact, cost_usd,"
        " latency_s, attempts"
    )
    conn.execute(
        f"INSERT INTO steps ({columns}, post_rev, started_at, ended_at)"
        f" SELECT {columns}, 2, started_at + 600, ended_at + 600 FROM steps"
        f" WHERE post_id IS NOT NULL AND post_id % {REGENERATED_EVERY} = 0 AND post_rev = 1"
    )
    conn.execute(
        "UPDATE posts SET rev = 2, body = r.body, caption = r.caption"
        " FROM post_revisions r WHERE r.post_id = posts.id AND r.rev = 2"
    )
    conn.execute(
        "UPDATE post_search SET body = p.headline || char(10) || p.body, caption = p.caption"
        " FROM posts p WHERE p.id = post_search.rowid AND p.rev = 2"
    )
