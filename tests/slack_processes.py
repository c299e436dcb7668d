"""Draftroom as real processes in Slack HTTP mode against the fake Slack in the test process:
for the promises that must hold across processes sharing one database (replicas behind a load
balancer, a budget two processes spend from)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from tests import support
from tests.fakes.slack import FakeSlack
from tests.slack_support import APPROVER, CHANNEL, PROPOSER, SECRET
from tests.support import wait_until

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SlackProcess:
    """`python -m bot run` in HTTP mode on its own port; its output goes to `log`."""

    def __init__(self, fake: FakeSlack, folder: Path, name: str, **env: str) -> None:
        self.fake = fake
        self.port = free_port()
        self.log = folder / f"{name}.log"
        self.env = {
            **os.environ,
            "SLACK_BOT_TOKEN": fake.bot_token,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.api_url,
            "SLACK_PORT": str(self.port),
            "DRAFTROOM_DB": str(folder / "d.db"),
            "DRAFTROOM_MEDIA_DIR": str(folder / "media"),
            "DRAFTROOM_OUTBOX_DIR": str(folder / "outbox"),
            "APPROVERS": f"{APPROVER},{PROPOSER}",
            "WEB_PORT": "0",
            **env,
        }
        self.env.pop("DISCORD_BOT_TOKEN", None)
        if support.DATABASE_URL is not None:
            self.env["DATABASE_URL"] = support.DATABASE_URL
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    async def start(self) -> None:
        with self.log.open("w") as out:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", cwd=ROOT, env=self.env, stdout=out, stderr=out
            )
        await wait_until(self._answers, timeout=60)

    async def _answers(self) -> bool:
        if self.process is not None and self.process.returncode is not None:
            raise AssertionError(f"the bot exited: {self.log.read_text()[-2000:]}")
        try:
            async with httpx.AsyncClient() as http:
                found = await http.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1)
        except httpx.HTTPError:
            return False
        return found.status_code == 200

    async def command(self, name: str, text: str = "", *, user: str = PROPOSER) -> int:
        status, _ = await self.fake.send_command(
            self.url, name, text, signing_secret=SECRET, user_id=user, channel_id=CHANNEL
        )
        return status

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(30):
                await self.process.wait()
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


@contextlib.asynccontextmanager
async def slack_processes(
    fake: FakeSlack, folder: Path, count: int, **env: str
) -> AsyncIterator[list[SlackProcess]]:
    """`count` processes on one database, all started (the first alone, so that it migrates)."""
    found = [SlackProcess(fake, folder, f"bot{i}", **env) for i in range(count)]
    try:
        for process in found:
            await process.start()
        yield found
    finally:
        await asyncio.gather(*(p.stop() for p in found))
