"""A library of posts as a team's years of use leave it, bulk-loaded with plain sqlite3.

Per plan (proposed in one of CHANNELS): two revisions, one run, a plan step, POSTS_PER_PLAN
posts (formats mixed; steps as each format has them), a status history of three rows per post,
chat messages (plan card, progress, one draft message per post), deliveries, user reactions
(two per post), conversation turns (the /propose, the plan card, a refining reply, one draft
turn per post) and chat references (three per post), publications for published posts.
Text is drawn from a Zipf-like vocabulary whose top ranks are common English words, so a
question typed as people type it matches a realistic share of the library.

Databases are cached in bench/.cache/ (gitignored), keyed by the schema (the migrations' text)
and FILL_VERSION: the 1M-post one takes a while to build, once.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import random
import sqlite3
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from storage.sqlite_db import SqliteDatabase

FILL_VERSION = 1
CACHE = Path(__file__).resolve().parent / ".cache"
POSTS_PER_PLAN = 4
CHANNELS = (
    [("console", "console")]
    + [("slack", f"C{n:03d}") for n in range(6)]
    + [("discord", str(900000000000000000 + n)) for n in range(3)]
)
PERSONAS = [
    ("aiaaron", "structural_dread", 0.45),
    ("aiaaron", "field_notes", 0.25),
    ("labnotes", "explainers", 0.30),
]
STATUSES = [
    ("published", 0.62),
    ("rejected", 0.12),
    ("awaiting_approval", 0.10),
    ("failed", 0.06),
    ("approved", 0.04),
    ("drafting", 0.02),
    ("publishing", 0.0),
    ("awaiting_approval", 0.04),
]
FORMATS = [
    ("hero_text", 0.4, ("draft", "hero_image", "hero_card")),
    ("text", 0.3, ("draft",)),
    ("image", 0.2, ("draft", "hero_image")),
    ("video", 0.1, ("draft", "video_script", "poster_frame", "video_clip")),
]
COMMON = (  # noqa: SIM905 (a list of 56 words reads better as text)
    "the of and to in is that for it as was with be by on not this are or from at which but "
    "have an they you were their one all we can has there been if more when will would who so "
    "what about said did our how why does model models lab labs safety"
).split()
VOCABULARY = COMMON + [f"w{n:04d}x" for n in range(1, 5001)]
CUMULATIVE = list(itertools.accumulate(1 / rank for rank in range(1, len(VOCABULARY) + 1)))
TOPIC_WORDS = VOCABULARY[200:1200]  # what questions ask about: neither common nor hapaxes
SENTENCES = 50_000


def schema_key() -> str:
    folder = resources.files("storage") / "migrations"
    text = "".join(
        e.read_text(encoding="utf-8")
        for e in sorted(folder.iterdir(), key=str)
        if e.name.endswith(".sql")
    )
    return hashlib.sha256(f"{text}{FILL_VERSION}".encode()).hexdigest()[:12]


def cached_database(posts: int) -> Path:
    """The path of a filled database of `posts` posts, building it if it is not cached."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"library-{posts}-{schema_key()}.db"
    if not path.exists():
        for stale in CACHE.glob(f"library-{posts}-*.db"):  # an older schema's: gigabytes
            stale.unlink()
        building = path.with_suffix(".building")
        building.unlink(missing_ok=True)
        asyncio.run(_migrate(building))
        started = time.perf_counter()
        fill(building, posts)
        print(f"built {path.name} in {time.perf_counter() - started:.0f} s")
        building.rename(path)
    return path


async def _migrate(path: Path) -> None:
    async with SqliteDatabase(path):
        pass


def _pick(rng: random.Random, table: list[tuple[str, float]]) -> str:
    return rng.choices([t[0] for t in table], weights=[t[1] for t in table])[0]


def fill(path: Path, posts: int) -> None:
    rng = random.Random(7)
    pool = [
        " ".join(rng.choices(VOCABULARY, cum_weights=CUMULATIVE, k=14)).capitalize() + "."
        for _ in range(SENTENCES)
    ]
    plans = posts // POSTS_PER_PLAN
    now = time.time() - 86400 * 365
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("BEGIN")
    plan_rows = []
    for plan_id in range(1, plans + 1):
        persona, pillar, _ = rng.choices(PERSONAS, weights=[p[2] for p in PERSONAS])[0]
        plan_rows.append(
            (plan_id, persona, pillar, *CHANNELS[plan_id % len(CHANNELS)], now + plan_id * 30)
        )
    conn.executemany(
        "INSERT INTO plans (id, persona, pillar, idea, proposer, platform, channel_id,"
        " current_rev, created_at, number) VALUES (?1, ?2, ?3, 'idea ' || ?1, 'slack:U0WRITER',"
        " ?4, ?5, 2, ?6, ?1)",
        plan_rows,
    )
    conn.executemany(
        "INSERT INTO plan_revisions (plan_id, rev, angle, rationale, special_message, spec_json,"
        " note, author, created_at) VALUES (?, ?, ?, ?, '4 items', '[]', ?, 'slack:U0WRITER', ?)",
        (
            (
                p[0],
                rev,
                " ".join(rng.choices(pool, k=3)),
                rng.choice(pool),
                None if rev == 1 else rng.choice(pool),
                p[5] + rev,
            )
            for p in plan_rows
            for rev in (1, 2)
        ),
    )
    conn.executemany(
        "INSERT INTO runs (id, plan_id, plan_rev, status, platform, channel_id, started_by,"
        " created_at, finished_at) VALUES (?1, ?1, 2, 'done', ?4, ?5, 'slack:U0WRITER', ?6, ?6)",
        plan_rows,
    )
    _fill_posts(conn, rng, pool, plan_rows)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


def _fill_posts(
    conn: sqlite3.Connection,
    rng: random.Random,
    pool: list[str],
    plan_rows: list[tuple[object, ...]],
) -> None:
    post_rows = []
    for plan in plan_rows:
        plan_id, persona, pillar, platform, channel, at = plan
        for item in range(POSTS_PER_PLAN):
            fmt = rng.choices(FORMATS, weights=[f[1] for f in FORMATS])[0]
            post_rows.append(
                (
                    len(post_rows) + 1,
                    plan_id,
                    item,
                    persona,
                    pillar,
                    fmt[0],
                    _pick(rng, STATUSES),
                    rng.choice(pool)[:90],
                    " ".join(rng.choices(pool, k=6)),
                    rng.choice(pool),
                    float(at) + 60,
                    platform,
                    channel,
                    fmt[2],
                )
            )
    conn.executemany(
        "INSERT INTO posts (id, run_id, plan_id, plan_rev, item_index, persona, pillar,"
        " content_format, rev, status, status_changed_at, headline, body, caption, created_at,"
        " platform, channel_id, number) VALUES (?1, ?2, ?2, 2, ?3, ?4, ?5, ?6, 1, ?7, ?11, ?8,"
        " ?9, ?10, ?11, ?12, ?13, ?1)",
        (r[:13] for r in post_rows),
    )
    # Numbered as an upgraded file's rows are (number = id): new plans count on past them.
    conn.executemany(
        "INSERT INTO workspace_numbers (workspace, kind, last) VALUES ('*', ?, ?)",
        (("plan", len(plan_rows)), ("post", len(post_rows))),
    )
    conn.executemany(
        "INSERT INTO post_search (rowid, body, caption, plan_text, place) VALUES (?, ?, ?, ?, ?)",
        ((r[0], f"{r[7]}\n{r[8]}", r[9], "", f"{r[11]}{r[12].lower()}") for r in post_rows),
    )
    conn.executemany(
        "INSERT INTO post_status_history (post_id, status, at, by_user) VALUES (?, ?, ?, ?)",
        (
            (r[0], status, r[10] + k, None if k < 2 else "slack:U0EDITOR")
            for r in post_rows
            for k, status in enumerate(("drafting", "awaiting_approval", r[6]))
        ),
    )
    conn.executemany(
        "INSERT INTO steps (run_id, post_id, post_rev, position, name, status, provider, model,"
        " artifact, cost_usd, latency_s, started_at, ended_at, attempts) VALUES (?, ?, 1, ?, ?,"
        " 'done', 'fal', 'fal-ai/flux-pro/v1.1-ultra', ?, 0.06, 19.5, ?, ?, 1)",
        (
            (
                r[1],
                r[0],
                pos,
                name,
                f"{r[0]}_{name}.png" if "image" in name or "card" in name else None,
                r[10],
                r[10] + 20,
            )
            for r in post_rows
            for pos, name in enumerate(r[13])
        ),
    )
    conn.executemany(
        "INSERT INTO steps (plan_id, plan_rev, position, name, status, provider, model,"
        " cost_usd, started_at, ended_at, attempts) VALUES (?, 1, 0, 'plan', 'done', 'openai',"
        " 'gpt-4o-mini', 0.001, ?, ?, 1)",
        ((p[0], p[5], p[5] + 2) for p in plan_rows),
    )
    _fill_chat(conn, rng, pool, plan_rows, post_rows)


def _fill_chat(
    conn: sqlite3.Connection,
    rng: random.Random,
    pool: list[str],
    plan_rows: list[tuple[object, ...]],
    post_rows: list[tuple[object, ...]],
) -> None:
    ts = itertools.count(1_600_000_000_000_000)
    conn.executemany(
        "INSERT INTO messages (platform, channel_id, message_id, kind, plan_id, post_id, run_id,"
        " rev, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)",
        _messages(plan_rows, ts),
    )
    conn.executemany(
        "INSERT INTO deliveries (key, platform, channel_id, message_id, attempts, created_at)"
        " VALUES (?, ?, ?, ?, 1, ?)",
        ((f"draft:{r[0]}:1", r[11], r[12], str(next(ts)), r[10]) for r in post_rows),
    )
    conn.executemany(
        "INSERT INTO reactions (post_id, rev, user_id, action, added, counted, at, emoji)"
        " VALUES (?, 1, ?, ?, 1, 1, ?, ?)",
        (
            (r[0], user, action, r[10] + 100, emoji)
            for r in post_rows
            for user, action, emoji in (
                ("slack:U0EDITOR", "approve", "white_check_mark"),
                ("slack:U0OTHER", rng.choice(("approve", "regenerate")), "repeat"),
            )
        ),
    )
    turns = list(_turns(rng, pool, plan_rows))
    conn.executemany(
        "INSERT INTO turns (id, platform, channel_id, thread_id, message_id, role, author, text,"
        " plan_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        turns,
    )
    first_turn = {t[8]: t[0] for t in reversed(turns)}  # plan -> its first turn
    conn.executemany(
        "INSERT INTO chat_references (turn_id, post_id, how) VALUES (?, ?, ?)",
        (
            (first_turn[r[1]] + k, r[0], how)
            for r in post_rows
            for k, how in ((1, "closest"), (2, "refined"), (3, "named"))
        ),
    )
    conn.executemany(
        "INSERT INTO publications (post_id, idempotency_key, target, location, published_at, rev)"
        " VALUES (?, ?, 'outbox', ?, ?, 1)",
        (
            (r[0], f"key-{r[0]}", f"outbox/post-{r[0]}", r[10] + 200)
            for r in post_rows
            if r[6] == "published"
        ),
    )


def _messages(
    plan_rows: list[tuple[object, ...]], ts: Iterator[int]
) -> Iterator[tuple[object, ...]]:
    for plan_id, _, _, platform, channel, at in plan_rows:
        yield platform, channel, str(next(ts)), "plan_card", plan_id, None, None, at
        yield platform, channel, str(next(ts)), "progress", plan_id, None, plan_id, at
        for item in range(POSTS_PER_PLAN):
            post_id = (int(str(plan_id)) - 1) * POSTS_PER_PLAN + item + 1
            yield platform, channel, str(next(ts)), "draft", plan_id, post_id, plan_id, at


def _turns(
    rng: random.Random, pool: list[str], plan_rows: list[tuple[object, ...]]
) -> Iterator[tuple[object, ...]]:
    turn_id = itertools.count(1)
    for plan_id, _, _, platform, channel, at in plan_rows:
        thread = f"t{plan_id}"
        yield (
            next(turn_id),
            platform,
            channel,
            None,
            None,
            "user",
            "slack:U0WRITER",
            f"/propose idea {plan_id}",
            plan_id,
            at,
        )
        yield (
            next(turn_id),
            platform,
            channel,
            thread,
            thread,
            "bot",
            "bot",
            rng.choice(pool),
            plan_id,
            at,
        )
        yield (
            next(turn_id),
            platform,
            channel,
            thread,
            None,
            "user",
            "slack:U0WRITER",
            rng.choice(pool),
            plan_id,
            at,
        )
        yield (
            next(turn_id),
            platform,
            channel,
            thread,
            None,
            "bot",
            "bot",
            rng.choice(pool),
            plan_id,
            at,
        )
        for _ in range(POSTS_PER_PLAN - 3):
            yield (
                next(turn_id),
                platform,
                channel,
                thread,
                None,
                "bot",
                "bot",
                rng.choice(pool),
                plan_id,
                at,
            )
