"""The web pages at 100,000 posts in one channel (bench/web_fill.py: the storage library moved
into one Slack channel, spread over two years, a tenth of the posts regenerated once).

The pages are served as the bot serves them: the room's `Site` on an aiohttp application, run
by an AppRunner on a TCPSite on 127.0.0.1, with one addition, a middleware that times each
request's handler inside the process (link token opened, page read, template rendered: server
time). The client is an aiohttp session over real HTTP on the same loop, one request at a time;
its time to the whole body read is the client latency, shown for reference. Every answer must be
a 200 whose page shows what it should, or the suite stops.

Workloads, WARMUP requests each first, then REQUESTS timed:
- `/p/<post>`: a random post of the 100,000 each time (a post link made beforehand for each);
- `/posts`: the library link, the awaiting-approval tab's first page; with a persona filter;
  with a common search word and with a rare one; and `before=` an id near the oldest post;
- `/costs` for the 30 days up to the newest step (the library was built at a fixed moment);
- the approver's queue (Slack's Home tab and /queue) as the core answers it, target < 10 ms.
Alongside `/p/<post>`, the same post as a chat card: `handlers.library.post_card`, its page link
added as `/post` adds it, and `bot.slack_blocks.render` with the blocks serialized as slack_sdk
sends them, timed the same way in the same loop; "card / page" is the ratio of the medians.
Targets: p99 server time < 20 ms for `/p/<post>` and `/posts`.
Run: python -m bench web_pages
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import re
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import aiohttp
from aiohttp import web

from bench.common import Row, database, median, percentile, print_rows, row, settings_in
from bench.web_fill import PLACE, one_channel_library
from bot import slack_blocks
from bot.bootstrap import App, build
from bot.web import Site
from handlers.approver_queue import queue_for
from handlers.card_links import linked
from handlers.library import post_card
from handlers.numbered import numbered_post

POSTS = 100_000
WARMUP = 30
REQUESTS = 300
TARGET_MS = 20.0
QUEUE_TARGET_MS = 10.0
COMMON_WORD = "model"  # in about 38% of the posts
RARE_WORD = "w4990x"  # in about 0.3%
DEEP_BEFORE = 500  # near the oldest post, id 1
PERSONA = "labnotes"
COST_DAYS = 30
WORKLOAD = (
    f"{POSTS:,} posts in one Slack channel over two years (steps, references, revisions); "
    f"`/p/<post>` for random posts, `/posts` variants and `/costs`, {REQUESTS} requests each "
    "after a warm-up, served by the bot's Site over real HTTP on 127.0.0.1, timed inside the "
    "process; the same posts as Slack cards in the same run"
)
TIMED_TABLES = ("shares",)  # rows the run adds (its links), removed afterwards
LINK_IN_PAGE = re.compile(r'href="[^"]*/p/\d+\?t=')


class Timings:
    """Server time of each request, by the middleware, in milliseconds."""

    def __init__(self) -> None:
        self.last_ms = float("nan")

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        started = time.perf_counter()
        response = await handler(request)
        self.last_ms = (time.perf_counter() - started) * 1000
        return response


class Figures:
    def __init__(self) -> None:
        self.server: list[float] = []
        self.client: list[float] = []


async def fetch(
    http: aiohttp.ClientSession, url: str, timings: Timings, figures: Figures | None
) -> str:
    started = time.perf_counter()
    async with http.get(url) as response:
        body = await response.text()
    client_ms = (time.perf_counter() - started) * 1000
    if response.status != 200:
        raise RuntimeError(f"{url} answered {response.status}: {body[:300]}")
    if figures is not None:
        figures.server.append(timings.last_ms)
        figures.client.append(client_ms)
    return body


async def serve(app: App, timings: Timings) -> tuple[web.AppRunner, str]:
    """The pages as bot.web_server.WebServer serves them, with the timing middleware."""
    application = web.Application(middlewares=[timings.middleware])
    Site(app.room.pages).add_routes(application)
    runner = web.AppRunner(application, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    app.room.pages.serving_at(base)
    return runner, base


async def link(app: App, kind: str, target: int | None) -> str:
    found = await app.room.deps.links.link(kind, target, PLACE, label="bench", made_by="bench")
    assert found is not None, "shared links are off or no page is served"
    return found.url


async def card_ms(app: App, post_id: int) -> float:
    deps = app.room.deps
    started = time.perf_counter()
    post = await numbered_post(deps, post_id, PLACE)  # as /post does (the fill's numbers: ids)
    card = await post_card(deps, post)
    card = await linked(deps.links, card, PLACE, [("post", post.id, post.number)], made_by="bench")
    message = slack_blocks.render(card)
    json.dumps({"text": message.text, "blocks": message.blocks})
    return (time.perf_counter() - started) * 1000


async def post_pages(
    app: App, http: aiohttp.ClientSession, timings: Timings
) -> tuple[Figures, list[float]]:
    """Random posts, each as its page and then as its card, so both see the same load."""
    rng = random.Random(13)
    chosen = [rng.randint(1, POSTS) for _ in range(WARMUP + REQUESTS)]
    urls = [await link(app, "post", post_id) for post_id in chosen]
    page, cards = Figures(), []
    for n, (post_id, url) in enumerate(zip(chosen, urls, strict=True)):
        measured = n >= WARMUP
        body = await fetch(http, url, timings, page if measured else None)
        if "<h2>Pipeline</h2>" not in body or "<h2>Chat References</h2>" not in body:
            raise RuntimeError(f"the page of post {post_id} is not its page: {body[:300]}")
        took = await card_ms(app, post_id)
        if measured:
            cards.append(took)
    return page, cards


async def same_page(
    http: aiohttp.ClientSession, url: str, timings: Timings, check: Callable[[str], None]
) -> Figures:
    figures = Figures()
    for n in range(WARMUP + REQUESTS):
        body = await fetch(http, url, timings, figures if n >= WARMUP else None)
        if n == 0:
            check(body)
    return figures


def listed(body: str) -> None:
    if not LINK_IN_PAGE.search(body):
        raise RuntimeError(f"the library page lists no post: {body[:300]}")


def costed(body: str) -> None:
    if "<svg" not in body:
        raise RuntimeError(f"the costs page has no chart: {body[:300]}")


async def newest_day(app: App) -> str:
    return str(await database(app).scalar("SELECT date(MAX(ended_at), 'unixepoch') FROM steps"))


def library_workloads(
    library: str, newest: str
) -> Iterator[tuple[str, str, Callable[[str], None]]]:
    since = (dt.date.fromisoformat(newest) - dt.timedelta(days=COST_DAYS - 1)).isoformat()
    costs = library.replace("/posts?", "/costs?", 1)
    yield "`/posts` awaiting approval, first page", library, listed
    yield f"`/posts?persona={PERSONA}`", f"{library}&persona={PERSONA}", listed
    yield f"`/posts?q={COMMON_WORD}` (a common word)", f"{library}&q={COMMON_WORD}", listed
    yield f"`/posts?q={RARE_WORD}` (a rare word)", f"{library}&q={RARE_WORD}", listed
    yield f"`/posts?before={DEEP_BEFORE}` (deep paging)", f"{library}&before={DEEP_BEFORE}", listed
    yield f"`/costs`, {COST_DAYS} days", f"{costs}&from={since}&to={newest}", costed


async def print_matches(app: App) -> None:
    for word in (COMMON_WORD, RARE_WORD):
        matching = await database(app).scalar(
            "SELECT COUNT(*) FROM post_search WHERE post_search MATCH ?", (f'"{word}"',)
        )
        print(f"  q={word} matches {matching:,} posts of {POSTS:,}")


def figure_rows(title: str, figures: Figures, target: float | None) -> list[Row]:
    p99 = percentile(figures.server, 99)
    aim = f"< {target:g} ms" if target is not None else "reference"
    return [
        row(f"{title}: server median", median(figures.server), "ms", "reference", None),
        row(f"{title}: server p99", p99, "ms", aim, None if target is None else p99 < target),
        row(f"{title}: client median", median(figures.client), "ms", "reference", None),
        row(f"{title}: client p99", percentile(figures.client, 99), "ms", "reference", None),
    ]


async def queue_rows(app: App) -> list[Row]:
    """The approver's queue (issue: one core query for Slack's Home tab and /queue), as the
    core answers it for an approver of the channel: the newest drafts awaiting approval, their
    authors, costs, approvals and draft messages; target < 10 ms."""
    deps, who = app.room.deps, "slack:editor"  # APPROVERS=editor (bench.common.settings_in)
    times = []
    for n in range(WARMUP + REQUESTS):
        start = time.perf_counter()
        queue = await queue_for(deps, who, [PLACE], with_links=False)
        if n >= WARMUP:
            times.append((time.perf_counter() - start) * 1000)
    if not queue.to_approve:
        raise SystemExit("the approver's queue came back empty: the fill has no waiting drafts")
    p99 = percentile(times, 99)
    title = f"approver queue (core query, {len(queue.to_approve)} shown)"
    return [
        row(f"{title}: median", median(times), "ms", "reference", None),
        row(f"{title}: p99", p99, "ms", "< 10 ms", p99 < QUEUE_TARGET_MS),
    ]


async def measure_in(app: App) -> list[Row]:
    timings = Timings()
    runner, _ = await serve(app, timings)
    rows: list[Row] = []
    try:
        async with aiohttp.ClientSession() as http:
            pages, cards = await post_pages(app, http, timings)
            title = f"`/p/<post>`, random of {POSTS // 1000}k"
            rows += figure_rows(title, pages, TARGET_MS)
            rows.append(
                row("the same post as a Slack card: median", median(cards), "ms", "reference", None)
            )
            rows.append(
                row(
                    "the same post as a Slack card: p99",
                    percentile(cards, 99),
                    "ms",
                    "reference",
                    None,
                )
            )
            ratio = median(cards) / median(pages.server)
            rows.append(row("card / page (server medians)", ratio, "x", "reference", None))
            rows += await queue_rows(app)
            library = await link(app, "library", None)
            await print_matches(app)
            for name, url, check in library_workloads(library, await newest_day(app)):
                target = TARGET_MS if name.startswith("`/posts") else None
                rows += figure_rows(name, await same_page(http, url, timings, check), target)
    finally:
        await runner.cleanup()
    return rows


async def measure() -> list[Row]:
    path = await asyncio.to_thread(one_channel_library, POSTS)
    with tempfile.TemporaryDirectory(prefix="draftroom-bench-") as folder:
        settings = settings_in(
            Path(folder), DRAFTROOM_DB=str(path), WEB_SECRET_KEY="bench-only-signing-key"
        )
        async with build(settings) as app:
            db = database(app)
            before = {
                t: int(await db.scalar(f"SELECT COALESCE(MAX(rowid), 0) FROM {t}"))
                for t in TIMED_TABLES
            }
            try:
                return await measure_in(app)
            finally:
                async with db.transaction() as conn:
                    for table, last in before.items():
                        await conn.execute(f"DELETE FROM {table} WHERE rowid > ?", (last,))


if __name__ == "__main__":
    print(WORKLOAD)
    print_rows("Web pages", asyncio.run(measure()))
