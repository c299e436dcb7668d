"""Running the chat platforms: Slack and/or Discord in one process, on one core and database.

Each adapter is a class with `__init__(settings, room)`, `async start()` and `async stop()`;
`start` connects and returns once the adapter is serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from typing import Protocol

from bot.bootstrap import build
from bot.discord_client_shards import ShardLocks
from bot.doctor import setup_report
from bot.settings import Settings
from bot.web_server import WebServer
from handlers.room import DraftRoom

log = logging.getLogger(__name__)


class Adapter(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def adapters_for(
    settings: Settings, room: DraftRoom, gateway_locks: ShardLocks | None = None
) -> list[Adapter]:
    """The adapters the settings enable; `gateway_locks` (from the composition root) decide
    which Discord shards this process may connect."""
    found: list[Adapter] = []
    if settings.slack_enabled:
        from bot.slack_adapter import SlackAdapter

        found.append(SlackAdapter(settings, room))
    if settings.discord_enabled:
        from bot.discord_adapter import DiscordAdapter

        found.append(DiscordAdapter(settings, room, gateway_locks=gateway_locks))
    if not (settings.slack_enabled and settings.slack_app_token is None):
        # Without Slack's HTTP-mode server to share, the pages get a server of their own.
        found.append(WebServer(settings, room))
    return found


def freeze_startup_heap() -> None:
    """Full garbage collections walk every object start-up made (discord.py's and bolt's state,
    the imports) and, with runs in flight, pause the loop for ~50 ms: long enough to show in the
    acknowledgement tail (bench/). Moving those objects out of the collector's sight halves it."""
    gc.collect()
    gc.freeze()


async def serve(settings: Settings, stop: asyncio.Event, *, jobs_here: bool = True) -> None:
    """Run until `stop` is set: connect every configured platform, then resume unfinished work.

    On PostgreSQL the runs are procrastinate jobs: `jobs_here` works them in this process too
    (`draftroom run`); without it (`draftroom serve`) the front ends acknowledge, record and
    defer, and `draftroom worker` processes run them."""
    async with build(settings, setup_report=setup_report(settings), jobs_here=jobs_here) as app:
        adapters = adapters_for(settings, app.room, app.gateway_locks)
        for adapter in adapters:
            await adapter.start()
        await app.room.start()
        freeze_startup_heap()
        try:
            await stop.wait()
        finally:
            if app.jobs is not None:  # before the room hands back what its jobs still run
                await app.jobs.stop_worker()
            # The room first: its last progress edits still need the adapters' clients.
            await app.room.stop()
            for adapter in reversed(adapters):
                with contextlib.suppress(Exception):
                    await adapter.stop()


async def run_platforms(settings: Settings, *, jobs_here: bool = True) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await serve(settings, stop, jobs_here=jobs_here)
