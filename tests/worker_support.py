"""`draftroom serve` and `draftroom worker` as real processes on the running test's PostgreSQL
database, with Slack (the fake, in HTTP mode) and the providers (the fakes) in the test process:
their environment, starting and stopping them, and what they left in the database and in Slack."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg

from tests import support
from tests.crash_watch import bot_environment
from tests.fakes.fal import FakeFal
from tests.fakes.providers import FakeOpenAI
from tests.provider_support import PRICE_INPUT, PRICE_OUTPUT, TEXT_MODEL
from tests.slack_support import APPROVER, CHANNEL, PROPOSER, SECRET, header

MEDIA_CALLS = 6  # the seed's batch on fal: four hero images, a poster frame, one video clip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Processes:
    """The bot's processes of one test; each one's log kept under the test's folder."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder, self.env = folder, env
        self.started: list[subprocess.Popen[bytes]] = []
        self.sessions: dict[int, str] = {}  # pid -> the application name of its sessions

    def start(self, command: str) -> subprocess.Popen[bytes]:
        name = f"{command}-{len(self.started) + 1}"
        env = dict(self.env)
        if "PGAPPNAME" in env:  # each process's sessions told apart (crash_watch.Watch.still)
            env["PGAPPNAME"] = f"{env['PGAPPNAME']} {name}"
        log = (self.folder / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", command],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.folder,
            env=env,
        )
        self.started.append(process)
        self.sessions[process.pid] = env.get("PGAPPNAME", "")
        return process

    def stop_all(self) -> list[int | None]:
        for process in self.started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        codes = []
        for process in self.started:
            try:
                codes.append(process.wait(timeout=30))
            except subprocess.TimeoutExpired:
                process.kill()
                codes.append(process.wait())
        return codes


@contextlib.contextmanager
def processes(folder: Path, env: dict[str, str]) -> Iterator[Processes]:
    started = Processes(folder, env)
    try:
        yield started
    finally:
        for process in started.started:  # never leave one behind
            if process.poll() is None:
                process.kill()
                process.wait()


def environment(
    tmp_path: Path, text: FakeOpenAI, fal: FakeFal, slack: Any, port: int, **extra: str
) -> dict[str, str]:
    env = {
        **os.environ,
        **bot_environment(),
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url,
        "SLACK_PORT": str(port),
        "APPROVERS": f"{APPROVER},{PROPOSER}",
        "DRAFTROOM_DB": str(tmp_path / "unused.db"),
        "DRAFTROOM_MEDIA_DIR": str(tmp_path / "media"),
        "DRAFTROOM_OUTBOX_DIR": str(tmp_path / "outbox"),
        "LLM_PROVIDER": "openai",
        "LLM_BASE_URL": text.base_url,
        "LLM_API_KEY": "sk-unused",
        "LLM_MODEL": TEXT_MODEL,
        "LLM_PRICE_INPUT_PER_MTOK": str(PRICE_INPUT),
        "LLM_PRICE_OUTPUT_PER_MTOK": str(PRICE_OUTPUT),
        "FAL_KEY": fal.api_key,
        "FAL_QUEUE_URL": fal.url,
        "VIDEO_MODEL": "fal-ai/fake-video/text-to-video",
        "VIDEO_PRICE_USD": "0.40",
        "MEDIA_HOSTS": fal.media_host,
        "FAL_POLL_INTERVAL_S": "0.05",
        "IMAGE_CONCURRENCY": "1",
        "RETRY_BASE_S": "0.01",
        # A killed worker is taken over within seconds, not the default minute.
        "PROCESS_LEASE_S": "4",
        "WEB_PORT": "0",
        **extra,
    }
    for name in ("DISCORD_BOT_TOKEN", "SLACK_APP_TOKEN"):
        env.pop(name, None)
    return env


def drafts(slack: Any) -> list[str]:
    return [
        header(m)
        for m in slack.messages(CHANNEL, user=slack.bot_user_id)
        if not m.is_reply and " · draft " in header(m)
    ]


def select(sql: str) -> list[tuple[Any, ...]]:
    assert support.DATABASE_URL is not None
    with psycopg.connect(support.DATABASE_URL) as conn:
        return list(conn.execute(sql).fetchall())  # type: ignore[arg-type]


def runs() -> list[tuple[Any, ...]]:
    return select("SELECT status FROM runs ORDER BY id")


async def serving(port: int) -> bool:
    try:
        async with httpx.AsyncClient() as client:
            return (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
    except httpx.HTTPError:
        return False
