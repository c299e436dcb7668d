"""draftroom as real processes for the benchmarks (`python -m bot worker`, `python -m bot serve`)
on one PostgreSQL database, each one's output in a log file; and the database reads that say
when they are ready and how far the runs have got."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import psycopg

ROOT = Path(__file__).resolve().parent.parent
STOP_S = 40.0


def bot_env(folder: Path, database_url: str, **env: str) -> dict[str, str]:
    """The environment of a bot process: the benchmark's database and folders, no platform
    unless `env` names one."""
    found = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SLACK_", "DISCORD_", "LLM_", "FAL_", "DATABASE_URL"))
    }
    return found | {
        "DATABASE_URL": database_url,
        "DRAFTROOM_DB": str(folder / "unused.db"),
        "DRAFTROOM_MEDIA_DIR": str(folder / "media"),
        "DRAFTROOM_OUTBOX_DIR": str(folder / "outbox"),
        "APPROVERS": "editor",
        "LOG_LEVEL": "WARNING",
        "WEB_PORT": "0",
        **env,
    }


class BotProcesses:
    """The bot processes one measurement started; `stop` ends them all (SIGTERM, then kill)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.started: list[asyncio.subprocess.Process] = []
        self.logs: list[Path] = []

    async def start(self, env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
        log = self.folder / f"{args[0]}-{len(self.started) + 1}.log"
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                *args,
                cwd=ROOT,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
            )
        self.started.append(process)
        self.logs.append(log)
        return process

    def check_alive(self) -> None:
        for process, log in zip(self.started, self.logs, strict=True):
            if process.returncode is not None:
                tail = log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{log.name} exited with {process.returncode}:\n{tail}")

    async def stop(self) -> None:
        for process in self.started:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in self.started:
            try:
                async with asyncio.timeout(STOP_S):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()


async def scalar(url: str, sql: str, params: dict[str, Any] | None = None) -> Any:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        found = await (await conn.execute(sql, params)).fetchone()
    return None if found is None else found[0]


async def wait_for(
    processes: BotProcesses, url: str, sql: str, wanted: int, within: float = 120.0
) -> float:
    """Poll `sql` (a count) until it reaches `wanted`; the time.time() it did."""
    deadline = time.monotonic() + within
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        while True:
            processes.check_alive()
            found = await (await conn.execute(sql)).fetchone()
            if found is not None and int(found[0]) >= wanted:
                return time.time()
            if time.monotonic() > deadline:
                raise TimeoutError(f"{sql!r} reached {found} of {wanted} in {within:.0f} s")
            await asyncio.sleep(0.02)


WORKERS_READY = "SELECT COUNT(*) FROM procrastinate.procrastinate_workers"
RUNS_FINISHED = "SELECT COUNT(*) FROM runs WHERE status IN ('done', 'failed')"
RUNS_UNFINISHED = "SELECT COUNT(*) FROM runs WHERE status IN ('queued', 'running')"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_serving(processes: BotProcesses, port: int, within: float = 60.0) -> None:
    """Until the HTTP server on `port` (Slack HTTP mode's, which has the pages) answers."""
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as session:
        while True:
            processes.check_alive()
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"http://127.0.0.1:{port}/healthz") as found:
                    if found.status == 200:
                        return
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing answered on port {port} in {within:.0f} s")
            await asyncio.sleep(0.1)


RUNS_NOT_DONE = "SELECT COUNT(*) FROM runs WHERE status <> 'done'"
