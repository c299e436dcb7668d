"""Storage at size: 100,000 posts (with plans, steps and the search index), then the post card,
the `/posts` listing and an `/ask` library search, each timed over many calls."""

from __future__ import annotations

import asyncio
import itertools
import random
import sqlite3
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.common import Row, median, print_rows, row, settings_in
from bot.bootstrap import build
from handlers import library
from handlers.commands import ListPosts
from handlers.ports import Invocation
from storage import posts
from storage.db import Database

POSTS = 100_000
PER_PLAN = 5
# A vocabulary of pseudo-words with Zipf-like frequencies, as in real text: a few words are in
# every post and most are rare, so a question's words match a realistic share of the library.
VOCABULARY = [f"w{n:04d}x" for n in range(1, 5001)]
CUMULATIVE = list(itertools.accumulate(1 / rank for rank in range(1, len(VOCABULARY) + 1)))
WORDS = VOCABULARY[200:1200]  # what questions ask about: neither stop words nor hapaxes


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choices(VOCABULARY, cum_weights=CUMULATIVE, k=n)).capitalize() + "."


def fill(path: Path) -> None:
    """Bulk-load with plain sqlite3: the schema is the one the migrations made."""
    rng = random.Random(7)
    now = time.time() - 86400 * 30
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA synchronous=OFF")
        plans = POSTS // PER_PLAN
        conn.executemany(
            "INSERT INTO plans VALUES (?, 'aiaaron', 'structural_dread', ?, 'writer', 'console',"
            " 'console', 1, ?)",
            ((i, f"idea {i}", now) for i in range(1, plans + 1)),
        )
        conn.executemany(
            "INSERT INTO plan_revisions VALUES (?, 1, ?, ?, '1 hero_text', '[[\"hero_text\", 5]]',"
            " NULL, NULL, 'writer', ?)",
            ((i, sentence(rng, 40), sentence(rng, 12), now) for i in range(1, plans + 1)),
        )
        conn.executemany(
            "INSERT INTO runs (id, plan_id, plan_rev, status, platform, channel_id, started_by,"
            " created_at) VALUES (?, ?, 1, 'done', 'console', 'console', 'writer', ?)",
            ((i, i, now) for i in range(1, plans + 1)),
        )
        rows = []
        for post_id in range(1, POSTS + 1):
            plan_id = (post_id - 1) // PER_PLAN + 1
            body = " ".join(sentence(rng, 14) for _ in range(6))
            item = (post_id - 1) % PER_PLAN
            headline = sentence(rng, 8)
            rows.append((post_id, plan_id, body, sentence(rng, 10), headline, now + post_id, item))
        conn.executemany(
            "INSERT INTO posts (id, run_id, plan_id, plan_rev, item_index, persona, pillar,"
            " content_format, rev, status, status_changed_at, headline, body, caption,"
            " created_at) VALUES (?1, ?2, ?2, 1, ?7, 'aiaaron', 'structural_dread', 'hero_text', 1,"
            " 'awaiting_approval', ?6, ?5, ?3, ?4, ?6)",
            rows,
        )
        conn.executemany(
            "INSERT INTO post_search (rowid, body, caption, plan_text) VALUES (?, ?, ?, '')",
            ((r[0], f"{r[4]}\n{r[2]}", r[3]) for r in rows),
        )
        conn.executemany(
            "INSERT INTO steps (run_id, post_id, post_rev, position, name, status, provider,"
            " model, artifact, cost_usd, latency_s, started_at, ended_at, attempts)"
            " VALUES (?, ?, 1, ?, ?, 'done', 'fal', 'm', ?, 0.06, 19.5, ?, ?, 1)",
            (
                (r[1], r[0], position, name, f"{r[0]}_{name}.png", r[5], r[5] + 1)
                for r in rows
                for position, name in enumerate(("draft", "hero_image", "hero_card"))
            ),
        )


async def timed(calls: int, work: Callable[[], Awaitable[object]]) -> list[float]:
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        await work()
        times.append((time.perf_counter() - started) * 1000)
    return times


async def measure() -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="draftroom-bench-") as folder:
        settings = settings_in(Path(folder))
        async with Database(settings.db_path):
            pass  # migrations
        fill(settings.db_path)
        rng = random.Random(11)
        async with build(settings) as app:
            deps = app.room.deps
            inv = Invocation("console", "console", "writer")
            card = await timed(300, lambda: library.post_card(deps, rng.randint(1, POSTS)))
            listing = await timed(
                200,
                lambda: library.list_posts(deps, inv, ListPosts("awaiting_approval", "aiaaron")),
            )
            search = await timed(
                200,
                lambda: posts.search(deps.db.reader, f"{rng.choice(WORDS)} {rng.choice(WORDS)}"),
            )
    return [
        row("post card, 100k posts (median)", median(card), "ms", "< 5 ms", median(card) < 5),
        row("/posts, 100k posts (median)", median(listing), "ms", "< 10 ms", median(listing) < 10),
        row(
            "/ask search, 100k posts (median)", median(search), "ms", "< 20 ms", median(search) < 20
        ),
    ]


if __name__ == "__main__":
    print_rows("Storage", asyncio.run(measure()))
