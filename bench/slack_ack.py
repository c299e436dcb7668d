"""Slash-command acknowledgement latency in HTTP mode: draftroom against a bare slack-bolt app,
both under the same real load.

Two processes, as in production: this one plays Slack (the fake Slack's Web API, and the client
that sends signed commands); a child process is the bot host. It serves draftroom and a bare
slack-bolt app that only acks, side by side on one event loop, while 50 runs really work on
offline providers (OFFLINE_LATENCY_S=0.05 s per call; each run is 3 hero_text items, so images
render, cards render, drafts post, files upload and the progress message is edited); whenever
runs finish new ones are proposed and started, so 50 stay in flight. Each app gets COMMANDS
signed `/posts` commands, CONCURRENCY at a time, in alternating blocks of BLOCK
(bare, draftroom, draftroom, bare, ...), so the load and any drift on the machine fall on both
alike. The figure is the time from sending a command to its HTTP 200, measured here. draftroom
also does each command's work (a database read, an ephemeral reply through the fake Slack) in
the background while later commands arrive; a block starts only when the previous one's replies
are all in.

Target: draftroom's p99 at most 1.2 times the bare app's p99, measured in the same run.
Run: python -m bench.slack_ack
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bench.common import Row, percentile, print_rows, row, settings_in
from bench.load import Load
from bot.bootstrap import build
from bot.platforms import freeze_startup_heap
from bot.slack_adapter import EVENTS_PATH, SlackAdapter
from handlers.ports import Invocation
from tests.fakes.slack import FakeSlack

COMMANDS = 1000
CONCURRENCY = 25
BLOCK = 25
RUNS_IN_FLIGHT = 50
ITEMS_PER_RUN = "3 hero_text"
PROVIDER_LATENCY_S = 0.05
WARM_UP = 25
SECRET = "bench-signing-secret"
CHANNEL = "C1"
TARGET_RATIO = 1.2
MIN_MEAN_RUNS = RUNS_IN_FLIGHT * 0.95  # a finished run is replaced within 0.05 s
WORKLOAD = (
    f"{COMMANDS} signed /posts per app, {CONCURRENCY} at a time, alternating blocks of {BLOCK} "
    "(bare, draftroom, draftroom, bare, ...); "
    f"{RUNS_IN_FLIGHT} runs of {ITEMS_PER_RUN} kept in flight on offline providers "
    f"({PROVIDER_LATENCY_S} s per call) in the same process"
)


# -- the bot host (child process) ------------------------------------------------------------


@asynccontextmanager
async def serving(web_app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}{EVENTS_PATH}"
    finally:
        await runner.cleanup()


def bare_app(bot_token: str, api_url: str) -> AsyncApp:
    app = AsyncApp(client=AsyncWebClient(token=bot_token, base_url=api_url), signing_secret=SECRET)

    async def ack_only(ack: AsyncAck) -> None:
        await ack()

    app.command("/posts")(ack_only)
    return app


async def host(folder: Path, bot_token: str, api_url: str, conn: Connection) -> None:
    """Serve both apps under load; tell the parent where; report the load when told."""
    settings = settings_in(
        folder,
        SLACK_BOT_TOKEN=bot_token,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=api_url,
        OFFLINE_LATENCY_S=PROVIDER_LATENCY_S,
        CONCURRENT_RUNS=RUNS_IN_FLIGHT,
    )
    async with build(settings) as app:
        adapter = SlackAdapter(settings, app.room, host="127.0.0.1", port=0)
        await adapter.start()
        await app.room.start()
        freeze_startup_heap()  # as `draftroom run` does
        load = Load(app, Invocation("slack", CHANNEL, "UBENCH"), RUNS_IN_FLIGHT, ITEMS_PER_RUN)
        try:
            await load.start()
            async with serving(bare_app(bot_token, api_url).web_app(path=EVENTS_PATH)) as bare:
                conn.send({"bare": bare, "draftroom": adapter.events_url})
                since, until = await asyncio.to_thread(conn.recv)
                conn.send(
                    {
                        "runs": load.in_flight(since, until),
                        "steps": await load.steps_committed(since, until),
                    }
                )
        finally:
            await load.stop()
            await app.room.stop()  # the room first, as `draftroom run` does
            await adapter.stop()


def run_host(folder: str, bot_token: str, api_url: str, conn: Connection) -> None:
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(host(Path(folder), bot_token, api_url, conn))


# -- Slack's side (this process) -------------------------------------------------------------


async def latencies(fake: FakeSlack, url: str, count: int) -> list[float]:
    """Send `count` signed /posts commands, CONCURRENCY at a time; seconds until each 200."""
    signer = SignatureVerifier(SECRET)
    results: list[float] = []
    numbers = iter(range(count))

    async def one(session: aiohttp.ClientSession, n: int) -> None:
        payload = fake.slash_command_payload("/posts", "", user_id=f"U{n % 40}", channel_id=CHANNEL)
        body = urlencode(payload)
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signer.generate_signature(timestamp=stamp, body=body) or "",
        }
        started = time.perf_counter()
        async with session.post(url, data=body.encode(), headers=headers) as resp:
            await resp.read()
            if resp.status != 200:
                raise RuntimeError(f"command {n} answered {resp.status}")
        results.append(time.perf_counter() - started)

    async def worker(session: aiohttp.ClientSession) -> None:
        for n in numbers:
            await one(session, n)

    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(CONCURRENCY)))
    return results


async def replies_in(fake: FakeSlack, count: int, within: float = 120.0) -> None:
    deadline = time.monotonic() + within
    while len(fake.ephemerals) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(fake.ephemerals)} of {count} replies arrived")
        await asyncio.sleep(0.01)


async def alternate(fake: FakeSlack, urls: dict[str, str]) -> tuple[list[float], list[float]]:
    """Blocks in the order bare, draftroom, draftroom, bare, ... so that neither app always
    comes first after the other's work."""
    times: dict[str, list[float]] = {"bare": [], "draftroom": []}
    await latencies(fake, urls["bare"], WARM_UP)  # the first request also runs auth.test
    await latencies(fake, urls["draftroom"], WARM_UP)
    await replies_in(fake, WARM_UP)
    for n in range(COMMANDS // BLOCK):
        for app in ("bare", "draftroom") if n % 2 == 0 else ("draftroom", "bare"):
            times[app] += await latencies(fake, urls[app], BLOCK)
        await replies_in(fake, WARM_UP + len(times["draftroom"]))
    return times["bare"], times["draftroom"]


def ms(values: list[float], pct: float) -> float:
    return percentile(values, pct) * 1000


async def receive(conn: Connection, within: float = 300.0) -> Any:
    if not await asyncio.to_thread(conn.poll, within):
        raise TimeoutError("the bot host did not answer; its traceback, if any, is above")
    return conn.recv()


def platform_work(fake: FakeSlack, since: float, until: float) -> dict[str, int]:
    """What reached the fake Slack from the runs while commands were measured."""
    during = [c for c in fake.calls if since <= c.time <= until]
    return {
        "edits": sum(c.method == "chat.update" for c in during),
        "uploads": sum(c.method == "files.completeUploadExternal" for c in during),
        "posts": sum(c.method == "chat.postMessage" for c in during),
    }


async def measure() -> list[Row]:
    spawn = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="draftroom-bench-") as folder:
        async with FakeSlack() as fake:
            ours_end, host_end = spawn.Pipe()
            args = (folder, fake.bot_token, fake.api_url, host_end)
            child = spawn.Process(target=run_host, args=args, daemon=True)
            child.start()
            try:
                began = time.monotonic()
                urls = await receive(ours_end)
                print(f"bot host up with its load after {time.monotonic() - began:.1f} s")
                wall_since, since = time.time(), time.monotonic()
                bare, ours = await alternate(fake, urls)
                wall_until, until = time.time(), time.monotonic()
                ours_end.send((wall_since, wall_until))
                load = await receive(ours_end)
                print(f"measured in {until - since:.1f} s")
                work = platform_work(fake, since, until)
            finally:  # the fake keeps answering while the host winds down
                await asyncio.to_thread(child.join, 60)
                if child.is_alive():
                    child.kill()
    return figures(bare, ours, load | work, len(fake.ephemerals), until - since)


def figures(
    bare: list[float], ours: list[float], work: dict[str, int], replies: int, seconds: float
) -> list[Row]:
    p50_ratio = ms(ours, 50) / ms(bare, 50)
    p99_ratio = ms(ours, 99) / ms(bare, 99)
    sent = len(ours) + WARM_UP
    fewest, mean = work["runs"]
    return [
        row("bare slack-bolt ack p50, under load", ms(bare, 50), "ms", "reference", None),
        row("bare slack-bolt ack p99, under load", ms(bare, 99), "ms", "reference", None),
        row("draftroom ack p50, under load", ms(ours, 50), "ms", "reference", None),
        row("draftroom ack p99, under load", ms(ours, 99), "ms", "reference", None),
        row("p50 draftroom / bare slack-bolt", p50_ratio, "x", "reference", None),
        row(
            "p99 draftroom / bare slack-bolt",
            p99_ratio,
            "x",
            f"<= {TARGET_RATIO}",
            p99_ratio <= TARGET_RATIO,
        ),
        row("runs in flight meanwhile, fewest sampled", fewest, "runs", "reference", None),
        row(
            "runs in flight meanwhile, mean",
            mean,
            "runs",
            f">= {MIN_MEAN_RUNS:g}",
            mean >= MIN_MEAN_RUNS,
        ),
        row(
            f"steps committed during the {seconds:.0f} s measured",
            work["steps"],
            "steps",
            "reference",
            None,
        ),
        row("progress edits (chat.update) meanwhile", work["edits"], "edits", "reference", None),
        row("files uploaded meanwhile", work["uploads"], "files", "reference", None),
        row("messages posted meanwhile", work["posts"], "messages", "reference", None),
        row("commands answered", replies, "replies", f"= {sent}", replies == sent),
    ]


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    print(WORKLOAD)
    print_rows("Slack command acknowledgement (HTTP mode)", asyncio.run(measure()))


if __name__ == "__main__":
    main()
