"""`draftroom worker`: procrastinate workers running the jobs (runs, publications, sweeps) on
PostgreSQL, beside any number of `draftroom serve` processes that take the chat and defer them.

`--processes P` starts P child processes of one worker each and supervises them: a signal is
passed on to every child, and when one child ends the others are stopped and the supervisor
exits with its status (a service manager restarts the whole). Each worker has `--concurrency N`
jobs at once. The worker posts drafts and progress to Slack through the Web API (with
SLACK_BOT_TOKEN, to its one workspace; in OAuth mode, to each plan's own workspace with that
workspace's token, read from the installations the `serve` processes saved, and refreshed
under the same per-workspace lock when it nears its expiry); it serves no platform, so it
answers no event. (Discord needs a gateway connection for that: drafts for
Discord are posted by the sweeper of a `draftroom serve` process.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from bot.bootstrap import App, build
from bot.doctor import setup_report
from bot.settings import Settings
from bot.slack_oauth import TeamRoutedClient, workspace_tokens
from bot.slack_port import SlackClient, SlackPort, retry_handlers

log = logging.getLogger(__name__)

NEEDS_POSTGRES = (
    "draftroom {command} needs DATABASE_URL=postgresql://…; "
    "with SQLite, `draftroom run` does everything in one process"
)
# On SIGTERM, jobs running get this long to finish; the runs still going are then handed back
# (their steps resume elsewhere, paid steps not paid again).
GRACEFUL_S = 30.0
CHILD_STOP_S = GRACEFUL_S + 10.0


def refusal(settings: Settings, command: str) -> str | None:
    """Why `command` cannot run on these settings (SQLite), or None."""
    url = settings.database_url.get_secret_value() if settings.database_url else ""
    if url.startswith(("postgresql:", "postgres:")):
        return None
    return NEEDS_POSTGRES.format(command=command)


def stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)


async def work(settings: Settings, *, concurrency: int, stop: asyncio.Event) -> None:
    """One worker: the room (without its own run workers) and procrastinate's worker, until
    `stop` is set or the worker fails."""
    async with build(settings, setup_report=setup_report(settings), jobs_here=False) as app:
        assert app.jobs is not None  # refused before on SQLite
        async with _outbound_ports(app):
            await app.room.start()
            worker = asyncio.create_task(
                app.jobs.work(
                    concurrency=concurrency,
                    name=f"worker-{os.getpid()}",
                    graceful_s=GRACEFUL_S,
                ),
                name="job-worker",
            )
            stopping = asyncio.create_task(stop.wait())
            log.info("worker: %d job(s) at once", concurrency)
            try:
                await asyncio.wait({worker, stopping}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopping.cancel()
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker  # raises what stopped it, if it failed
                await app.room.stop()


@contextlib.asynccontextmanager
async def _outbound_ports(app: App) -> AsyncIterator[None]:
    """What the worker says goes out through the platforms' Web APIs: Slack's, when set."""
    settings = app.settings
    token = settings.slack_bot_token
    if not settings.slack_enabled:
        yield
        return
    async with aiohttp.ClientSession() as session:
        options: dict[str, Any] = {
            "base_url": settings.slack_api_url,
            "retry_handlers": retry_handlers(),
            "session": session,
        }
        if settings.slack_oauth:  # as the adapter's room client: each call to its workspace
            tokens = workspace_tokens(settings, app.room.deps.db, SlackClient(**options))
            port = SlackPort(TeamRoutedClient(tokens, **options))
        else:
            assert token is not None
            port = SlackPort(SlackClient(token=token.get_secret_value(), **options))
            await port.remember_workspace()
        app.room.connect(port)
        yield


async def _work_until_signalled(settings: Settings, concurrency: int) -> None:
    stop = asyncio.Event()
    stop_on_signals(stop)
    await work(settings, concurrency=concurrency, stop=stop)


def run_worker(settings: Settings, *, concurrency: int, processes: int) -> int:
    """`draftroom worker` (refused on SQLite before): the exit status."""
    if processes <= 1:
        asyncio.run(_work_until_signalled(settings, concurrency))
        return 0
    return _supervise(concurrency, processes)


def _supervise(concurrency: int, processes: int) -> int:
    command = [sys.executable, "-m", "bot", "worker", "--concurrency", str(concurrency)]
    children = [subprocess.Popen(command) for _ in range(processes)]
    log.info("worker: %d processes of %d job(s) at once", processes, concurrency)

    def pass_on(sig: int, _frame: object) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(sig)

    signal.signal(signal.SIGTERM, pass_on)
    signal.signal(signal.SIGINT, pass_on)
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.2)
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + CHILD_STOP_S
        for child in children:
            try:
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    return max((abs(child.returncode or 0) for child in children), default=0)
