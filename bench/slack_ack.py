"""Slash-command acknowledgement latency in HTTP mode: draftroom against a bare slack-bolt app.

Two processes, as in production: this one plays Slack (the fake Slack's Web API, and the client
that sends signed commands); a child process is the bot host, serving draftroom and a bare
slack-bolt app that only acks, side by side on one event loop with 50 runs in flight (their
drafting waits on a slow text provider). Each app gets 500 signed `/posts` commands, 25 at a
time, in alternating blocks of 100 so that drift on the machine falls on both alike; the time
from sending a command to its HTTP 200 is measured here. draftroom also does each command's
work (a database read, an ephemeral reply through the fake Slack) in the background while later
commands arrive; a block starts only when the previous one's replies are all in.

Targets: draftroom's p99 at most 1.5 times the bare app's p99, and under 100 ms.
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

from bench.common import Row, percentile, print_rows, row
from bot.bootstrap import App, build
from bot.platforms import freeze_startup_heap
from bot.settings import Settings
from bot.slack_adapter import EVENTS_PATH, SlackAdapter
from handlers.ports import Invocation
from pipeline.providers.base import TextRequest, TextResult
from pipeline.providers.offline import OfflineImages, OfflineText, OfflineVideo
from pipeline.runner import Providers
from storage import plans
from tests.fakes.slack import FakeSlack

COMMANDS = 500
CONCURRENCY = 25
BLOCK = 100
RUNS_IN_FLIGHT = 50
WARM_UP = 25
SLOW_TEXT_S = 600.0  # drafting never finishes during the measurement
SECRET = "bench-signing-secret"
CHANNEL = "C1"
TARGET_P99_MS = 100.0
TARGET_RATIO = 1.5


# -- the bot host (child process) ------------------------------------------------------------


class SlowText(OfflineText):
    """Offline text that plans at once but takes its time drafting, as a busy model would."""

    async def complete(self, request: TextRequest) -> TextResult:
        if request.task != "plan":
            await asyncio.sleep(SLOW_TEXT_S)
        return await super().complete(request)


def bench_settings(folder: Path, bot_token: str, api_url: str) -> Settings:
    values: dict[str, Any] = {
        "SLACK_BOT_TOKEN": bot_token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": api_url,
        "DRAFTROOM_DB": str(folder / "bench.db"),
        "DRAFTROOM_MEDIA_DIR": str(folder / "media"),
        "DRAFTROOM_OUTBOX_DIR": str(folder / "outbox"),
        "CONCURRENT_RUNS": RUNS_IN_FLIGHT,
        "TEXT_CONCURRENCY": RUNS_IN_FLIGHT,
        "_env_file": None,
    }
    return Settings(**values)


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


async def start_runs(app: App) -> None:
    room = app.room
    inv = Invocation("slack", CHANNEL, "UBENCH")
    for n in range(RUNS_IN_FLIGHT):
        await room.command(inv, "propose", f"benchmark idea number {n}")
    for plan_id in await plans.recent_plan_ids(app.room.deps.db.reader, RUNS_IN_FLIGHT):
        await room.command(inv, "run", str(plan_id))


async def host(folder: Path, bot_token: str, api_url: str, conn: Connection) -> None:
    """Serve both apps with runs in flight; tell the parent where; report runs when told."""
    settings = bench_settings(folder, bot_token, api_url)
    providers = Providers(SlowText(), OfflineImages(), OfflineVideo())
    async with build(settings, providers=providers) as app:
        adapter = SlackAdapter(settings, app.room, host="127.0.0.1", port=0)
        await adapter.start()
        await app.room.start()
        freeze_startup_heap()  # as `draftroom run` does
        try:
            await start_runs(app)
            async with serving(bare_app(bot_token, api_url).web_app(path=EVENTS_PATH)) as bare:
                runs = await plans.unfinished_runs(app.room.deps.db.reader)
                conn.send({"bare": bare, "draftroom": adapter.events_url, "runs": runs})
                await asyncio.to_thread(conn.recv)
                conn.send({"runs": await plans.unfinished_runs(app.room.deps.db.reader)})
        finally:
            await adapter.stop()
            await app.room.stop()


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


async def replies_in(fake: FakeSlack, count: int, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while len(fake.ephemerals) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(fake.ephemerals)} of {count} replies arrived")
        await asyncio.sleep(0.01)


async def alternate(fake: FakeSlack, urls: dict[str, str]) -> tuple[list[float], list[float]]:
    bare: list[float] = []
    ours: list[float] = []
    await latencies(fake, urls["bare"], WARM_UP)  # the first request also runs auth.test
    await latencies(fake, urls["draftroom"], WARM_UP)
    await replies_in(fake, WARM_UP)
    for _ in range(COMMANDS // BLOCK):
        bare += await latencies(fake, urls["bare"], BLOCK)
        ours += await latencies(fake, urls["draftroom"], BLOCK)
        await replies_in(fake, WARM_UP + len(ours))
    return bare, ours


def ms(values: list[float], pct: float) -> float:
    return percentile(values, pct) * 1000


async def receive(conn: Connection, within: float = 120.0) -> Any:
    if not await asyncio.to_thread(conn.poll, within):
        raise TimeoutError("the bot host did not answer; its traceback, if any, is above")
    return conn.recv()


async def measure() -> list[Row]:
    spawn = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as folder:
        async with FakeSlack() as fake:
            ours_end, host_end = spawn.Pipe()
            args = (folder, fake.bot_token, fake.api_url, host_end)
            child = spawn.Process(target=run_host, args=args, daemon=True)
            child.start()
            try:
                urls = await receive(ours_end)
                bare, ours = await alternate(fake, urls)
                ours_end.send("done")
                runs_after = (await receive(ours_end))["runs"]
            finally:
                child.join(timeout=30)
                if child.is_alive():
                    child.kill()
    return figures(bare, ours, min(urls["runs"], runs_after), len(fake.ephemerals))


def figures(bare: list[float], ours: list[float], runs: int, replies: int) -> list[Row]:
    bare_p99, our_p99 = ms(bare, 99), ms(ours, 99)
    ratio = our_p99 / bare_p99
    sent = len(ours) + WARM_UP
    return [
        row("bare slack-bolt ack p50", ms(bare, 50), "ms", "reference", None),
        row("bare slack-bolt ack p99", bare_p99, "ms", "reference", None),
        row("draftroom ack p50", ms(ours, 50), "ms", "reference", None),
        row("draftroom ack p99", our_p99, "ms", f"< {TARGET_P99_MS:g} ms", our_p99 < TARGET_P99_MS),
        row("p99 draftroom / bare", ratio, "x", f"<= {TARGET_RATIO}", ratio <= TARGET_RATIO),
        row("runs in flight throughout", runs, "runs", f">= {RUNS_IN_FLIGHT}", runs >= 50),
        row("commands answered", replies, "replies", f"= {sent}", replies == sent),
    ]


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    print(f"{COMMANDS} signed /posts per app, {CONCURRENCY} at a time, {RUNS_IN_FLIGHT} runs")
    print_rows("Slack command acknowledgement (HTTP mode)", asyncio.run(measure()))


if __name__ == "__main__":
    main()
