"""Slash-command acknowledgement latency in HTTP mode: draftroom against a bare slack-bolt app.

Both apps serve on 127.0.0.1 in this process, with the fake Slack as their Web API. 50 runs are
in flight first (their drafting waits on a slow text provider), then each app gets 500 signed
`/posts` commands, 25 at a time, and the time from sending to its HTTP 200 is measured at the
client. draftroom also does each command's work (a database read, an ephemeral reply), in the
background on the same event loop, while later commands arrive.

Targets: draftroom's p99 at most 1.5 times the bare app's p99, and under 100 ms.
Run: python -m bench.slack_ack
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.bootstrap import App, build
from bot.settings import Settings
from bot.slack_adapter import EVENTS_PATH, SlackAdapter
from handlers.ports import Invocation
from pipeline.providers.base import TextRequest, TextResult
from pipeline.providers.offline import OfflineText
from pipeline.runner import Providers
from storage import plans
from tests.fakes.slack import FakeSlack

COMMANDS = 500
CONCURRENCY = 25
RUNS_IN_FLIGHT = 50
WARM_UP = 25
SLOW_TEXT_S = 600.0  # drafting never finishes during the measurement
SECRET = "bench-signing-secret"
CHANNEL = "C1"
TARGET_P99_MS = 100.0
TARGET_RATIO = 1.5


class SlowText(OfflineText):
    """Offline text that plans at once but takes its time drafting, as a busy model would."""

    async def complete(self, request: TextRequest) -> TextResult:
        if request.task != "plan":
            await asyncio.sleep(SLOW_TEXT_S)
        return await super().complete(request)


def bench_settings(folder: Path, fake: FakeSlack) -> Settings:
    values: dict[str, Any] = {
        "SLACK_BOT_TOKEN": fake.bot_token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.api_url,
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


def bare_app(fake: FakeSlack) -> AsyncApp:
    app = AsyncApp(
        client=AsyncWebClient(token=fake.bot_token, base_url=fake.api_url),
        signing_secret=SECRET,
    )

    async def ack_only(ack: AsyncAck) -> None:
        await ack()

    app.command("/posts")(ack_only)
    return app


async def start_runs(app: App) -> int:
    """Propose and run RUNS_IN_FLIGHT plans; returns how many runs are unfinished."""
    room = app.room
    room.deps.pipeline.providers = Providers(
        SlowText(), room.deps.pipeline.providers.images, room.deps.pipeline.providers.video
    )
    inv = Invocation("slack", CHANNEL, "UBENCH")
    for n in range(RUNS_IN_FLIGHT):
        await room.command(inv, "propose", f"benchmark idea number {n}")
    for plan_id in await plans.recent_plan_ids(room.deps.db.reader, RUNS_IN_FLIGHT):
        await room.command(inv, "run", str(plan_id))
    return await runs_in_flight(app)


async def runs_in_flight(app: App) -> int:
    return await plans.unfinished_runs(app.room.deps.db.reader)


async def latencies(fake: FakeSlack, url: str, count: int) -> list[float]:
    """Send `count` signed /posts commands, CONCURRENCY at a time; seconds until each 200."""
    signer = SignatureVerifier(SECRET)
    results: list[float] = []
    remaining = iter(range(count))
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)

    async def one(session: aiohttp.ClientSession, n: int) -> None:
        payload = fake.slash_command_payload("/posts", "", user_id=f"U{n % 40}", channel_id=CHANNEL)
        body = urlencode(payload)
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signer.generate_signature(timestamp=stamp, body=body),
        }
        started = time.perf_counter()
        async with session.post(url, data=body.encode(), headers=headers) as resp:
            await resp.read()
            if resp.status != 200:
                raise RuntimeError(f"command {n} answered {resp.status}")
        results.append(time.perf_counter() - started)

    async def worker(session: aiohttp.ClientSession) -> None:
        for n in remaining:
            await one(session, n)

    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(CONCURRENCY)))
    return results


def percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] * 1000


def figure(name: str, value: float, unit: str, target: str, holds: bool) -> dict[str, Any]:
    return {"name": name, "value": round(value, 2), "unit": unit, "target": target, "holds": holds}


async def measure_app(fake: FakeSlack, url: str) -> list[float]:
    await latencies(fake, url, WARM_UP)  # the first request also runs auth.test
    return await latencies(fake, url, COMMANDS)


async def measure() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as folder:
        async with FakeSlack() as fake:
            settings = bench_settings(Path(folder), fake)
            async with build(settings) as app:
                adapter = SlackAdapter(settings, app.room, host="127.0.0.1", port=0)
                await adapter.start()
                await app.room.start()
                try:
                    return await _measure_both(fake, app, adapter)
                finally:
                    await adapter.stop()
                    await app.room.stop()


async def _measure_both(fake: FakeSlack, app: App, adapter: SlackAdapter) -> list[dict[str, Any]]:
    in_flight_before = await start_runs(app)
    async with serving(bare_app(fake).web_app(path=EVENTS_PATH)) as bare_url:
        bare = await measure_app(fake, bare_url)
    ephemerals_before = len(fake.ephemerals)
    ours = await measure_app(fake, adapter.events_url)
    await adapter.wait_idle()
    answered = len(fake.ephemerals) - ephemerals_before
    in_flight = min(in_flight_before, await runs_in_flight(app))
    bare_p99, our_p99 = percentile(bare, 99), percentile(ours, 99)
    ratio = our_p99 / bare_p99
    return [
        figure("bare bolt ack p50", percentile(bare, 50), "ms", "reference", True),
        figure("bare bolt ack p99", bare_p99, "ms", "reference", True),
        figure("draftroom ack p50", percentile(ours, 50), "ms", "reference", True),
        figure("draftroom ack p99", our_p99, "ms", f"< {TARGET_P99_MS:g}", our_p99 < 100),
        figure("p99 ratio draftroom/bare", ratio, "x", f"<= {TARGET_RATIO}", ratio <= 1.5),
        figure("runs in flight", in_flight, "runs", f">= {RUNS_IN_FLIGHT}", in_flight >= 50),
        figure(
            "commands answered (ephemeral)",
            answered,
            "replies",
            f"{COMMANDS + WARM_UP}",
            answered == COMMANDS + WARM_UP,
        ),
    ]


def report(figures: list[dict[str, Any]]) -> str:
    lines = [f"{'figure':32} {'value':>10}  {'unit':8} {'target':12} holds"]
    for f in figures:
        mark = "yes" if f["holds"] else "NO"
        lines.append(f"{f['name']:32} {f['value']:>10}  {f['unit']:8} {f['target']:12} {mark}")
    return "\n".join(lines)


def main(run: Callable[[], Awaitable[list[dict[str, Any]]]] = measure) -> None:
    logging.basicConfig(level=logging.WARNING)
    print(report(asyncio.run(run())))


if __name__ == "__main__":
    main()
