"""Memory: the bot's resident size idle with both adapters connected (Slack in HTTP mode and
Discord on its gateway, against the local fakes), and its peak with 100 runs in flight.

The fakes run in this process; the bot runs in a child process, so its figures are its own.
Targets: 150 MB idle, 250 MB peak. Run: python -m bench.memory
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
IDLE_TARGET_MB = 150
PEAK_TARGET_MB = 250


def _status_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (the peak so far) of this process, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} is not in /proc/self/status")


async def _bot(env: dict[str, Any], folder: Path, pipe: Connection) -> None:
    from bot.bootstrap import build
    from bot.discord_adapter import DiscordAdapter
    from bot.slack_adapter import SlackAdapter
    from handlers.ports import Invocation
    from storage import plans

    settings = settings_in(folder, **env)
    async with build(settings) as app:
        adapters = [
            SlackAdapter(settings, app.room, host="127.0.0.1", port=0),
            DiscordAdapter(settings, app.room, guild_ready_timeout=0.1),
        ]
        for adapter in adapters:
            await adapter.start()
        await app.room.start()
        await asyncio.sleep(1.0)
        gc.collect()
        idle = _status_mb("VmRSS")
        writer = Invocation("slack", "C1", "U1")
        await asyncio.gather(
            *(
                app.room.command(writer, "propose", f'memory run {n} special:"1 hero_text"')
                for n in range(RUNS)
            )
        )
        await asyncio.gather(*(app.room.command(writer, "run", str(n)) for n in range(1, RUNS + 1)))
        while await plans.unfinished_runs(app.room.deps.db.reader):  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        peak = _status_mb("VmHWM")
        await app.room.stop()
        for adapter in reversed(adapters):
            await adapter.stop()
    pipe.send((idle, peak))


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
            "OFFLINE_LATENCY_S": "1.0",
            "CONCURRENT_RUNS": str(RUNS),
            "TEXT_CONCURRENCY": str(RUNS),
            "IMAGE_CONCURRENCY": "16",
        }
        context = multiprocessing.get_context("spawn")
        receive, send = context.Pipe(duplex=False)
        with tempfile.TemporaryDirectory(prefix="draftroom-bench-") as folder:
            child = context.Process(target=_child, args=(env, folder, send))
            child.start()
            idle, peak = await asyncio.to_thread(receive.recv)
            await asyncio.to_thread(child.join, 60)
    return [
        row(
            "resident size, idle, both adapters connected",
            idle,
            "MB",
            "< 150 MB",
            idle < IDLE_TARGET_MB,
        ),
        row(
            f"peak resident size, {RUNS} runs in flight",
            peak,
            "MB",
            "< 250 MB",
            peak < PEAK_TARGET_MB,
        ),
    ]


if __name__ == "__main__":
    print_rows("Memory", asyncio.run(measure()))
