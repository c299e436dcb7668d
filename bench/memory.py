"""Memory: the bot's resident size idle with both adapters connected (Slack in HTTP mode and
Discord on its gateway, against the local fakes), and its peak with RUNS runs in flight on
real-size images.

The fakes run in this process; the bot runs in a child process, so its figures are its own.
Idle: after start-up and a full collection, nothing running. Peak: RUNS runs of one hero_text
item each, all started at once (CONCURRENT_RUNS covers them), on a fixed-latency image provider
returning ~1 MB JPEGs (IMAGE_CONCURRENCY at a time): each hero-text card is rendered from that
JPEG, and drafts with their images are posted to the fake Slack. The peak is VmHWM once every
run has finished and its drafts are posted.

Targets: 80 MB idle, 200 MB peak. Run: python -m bench.memory
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import tempfile
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bench.common import Row, print_rows, row, settings_in

RUNS = 100
IMAGE_CONCURRENCY = 16
LATENCY_S = 0.5
IDLE_TARGET_MB = 80
PEAK_TARGET_MB = 200
WORKLOAD = (
    f"both adapters connected; then {RUNS} runs of 1 hero_text item at once, ~1 MB JPEGs from a "
    f"{LATENCY_S} s image provider, {IMAGE_CONCURRENCY} at a time, drafts posted to Slack"
)


def _status_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (the peak so far) of this process, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} is not in /proc/self/status")


async def _bot(env: dict[str, Any], folder: Path, pipe: Connection) -> None:
    from bench.common import database, wait_runs_finished
    from bench.media import FixedLatencyJpegs
    from bot.bootstrap import build
    from bot.discord_adapter import DiscordAdapter
    from bot.platforms import freeze_startup_heap
    from bot.slack_adapter import SlackAdapter
    from handlers.ports import Invocation
    from pipeline.providers.offline import OfflineText, OfflineVideo
    from pipeline.runner import Providers

    settings = settings_in(folder, **env)
    providers = Providers(OfflineText(), FixedLatencyJpegs(LATENCY_S), OfflineVideo())
    async with build(settings, providers=providers) as app:
        adapters = [
            SlackAdapter(settings, app.room, host="127.0.0.1", port=0),
            DiscordAdapter(settings, app.room, guild_ready_timeout=0.1),
        ]
        for adapter in adapters:
            await adapter.start()
        await app.room.start()
        freeze_startup_heap()  # as `draftroom run` does
        await asyncio.sleep(1.0)
        gc.collect()
        idle = _status_mb("VmRSS")
        writer = Invocation("slack", "C1", "U1")
        for n in range(RUNS):
            await app.room.command(writer, "propose", f'memory run {n} special:"1 hero_text"')
        await asyncio.gather(*(app.room.command(writer, "run", str(n)) for n in range(1, RUNS + 1)))
        await wait_runs_finished(app, poll_s=0.1)
        await app.room.wait_idle(timeout=600)
        peak = _status_mb("VmHWM")
        drafts = int(
            await database(app).scalar("SELECT COUNT(*) FROM messages WHERE kind = 'draft'")
        )
        await app.room.stop()
        for adapter in reversed(adapters):
            await adapter.stop()
    pipe.send((idle, peak, drafts))


def _child(env: dict[str, Any], folder: str, pipe: Connection) -> None:
    asyncio.run(_bot(env, Path(folder), pipe))


async def measure() -> list[Row]:
    from tests.fakes.discord import FakeDiscord
    from tests.fakes.slack import FakeSlack

    async with FakeSlack() as slack, FakeDiscord() as discord:
        env = {
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_SIGNING_SECRET": "bench-signing-secret",
            "SLACK_API_URL": slack.api_url,
            "DISCORD_BOT_TOKEN": discord.token,
            "DISCORD_API_URL": discord.api_url,
            "DISCORD_GATEWAY_URL": discord.gateway_url,
            "DISCORD_GUILD_ID": discord.guild_id,
            "CONCURRENT_RUNS": str(RUNS),
            "TEXT_CONCURRENCY": str(RUNS),
            "IMAGE_CONCURRENCY": str(IMAGE_CONCURRENCY),
        }
        context = multiprocessing.get_context("spawn")
        receive, send = context.Pipe(duplex=False)
        with tempfile.TemporaryDirectory(prefix="draftroom-bench-") as folder:
            child = context.Process(target=_child, args=(env, folder, send))
            child.start()
            idle, peak, drafts = await asyncio.to_thread(receive.recv)
            await asyncio.to_thread(child.join, 60)
        uploads = len(slack.uploaded_files)
    return [
        row(
            "resident size, idle, both adapters connected",
            idle,
            "MB",
            f"< {IDLE_TARGET_MB} MB",
            idle < IDLE_TARGET_MB,
        ),
        row(
            f"peak resident size, {RUNS} runs on ~1 MB JPEGs",
            peak,
            "MB",
            f"< {PEAK_TARGET_MB} MB",
            peak < PEAK_TARGET_MB,
        ),
        row("drafts posted during the peak", drafts, "drafts", f"= {RUNS}", drafts == RUNS),
        row("images uploaded to the fake Slack", uploads, "files", "reference", None),
    ]


if __name__ == "__main__":
    print(WORKLOAD)
    print_rows("Memory", asyncio.run(measure()))
