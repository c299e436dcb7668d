"""The fake Slack in a process of its own, and a client that sends it signed slash commands.

A benchmark that times the bot's acknowledgements must not serve the Web API calls of the
processes under test on its own event loop: while busy workers post drafts and edit progress
messages, the fake's handlers would delay the timing client's reads, and the delay would be
counted as the bot's. Here the fake runs in a child process; this process only sends commands
and reads the clock. Commands are built by an unstarted FakeSlack pointed at the child's port
(the same payloads the tests send); `/posts` answers ephemerally through the Web API, so the
response_url they carry, unknown to the child, is never used.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlencode

import aiohttp
from slack_sdk.signature import SignatureVerifier

from tests.fakes.slack import FakeSlack


def _serve(conn: Connection) -> None:
    async def main() -> None:
        async with FakeSlack() as fake:
            conn.send({"port": fake.port, "api_url": fake.api_url, "bot_token": fake.bot_token})
            await asyncio.to_thread(conn.recv)  # told to stop

    asyncio.run(main())


class FakeSlackChild:
    """A fake Slack running `serve` in a child process (it sends what it serves on, then works
    until told "stop"), and signed requests from this process to the bot under test."""

    def __init__(self, signing_secret: str, serve: Callable[[Connection], None]) -> None:
        self.signer = SignatureVerifier(signing_secret)
        self.payloads = FakeSlack()  # builds payloads; never started
        self.started: dict[str, Any] = {}  # what the child said it serves on
        self._serve = serve
        self._conn: Connection | None = None
        self._process: multiprocessing.process.BaseProcess | None = None
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        spawn = multiprocessing.get_context("spawn")
        ours, theirs = spawn.Pipe()
        process = spawn.Process(target=self._serve, args=(theirs,), daemon=True)
        process.start()
        self._conn, self._process = ours, process
        deadline = time.monotonic() + 60
        while not await asyncio.to_thread(ours.poll, 0.1):
            if not process.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fake Slack process did not start (see its output)")
        self.started = ours.recv()
        self.payloads.port = int(self.started["port"])
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._session is not None:
            await self._session.close()
        if self._conn is not None and self._process is not None:
            self._conn.send("stop")
            await asyncio.to_thread(self._process.join, 30)
            if self._process.is_alive():
                self._process.kill()

    @property
    def api_url(self) -> str:
        return str(self.started.get("api_url", ""))

    def signed(self, body: str, content_type: str) -> dict[str, str]:
        stamp = str(int(time.time()))
        signature = self.signer.generate_signature(timestamp=stamp, body=body) or ""
        return {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature,
        }

    async def post_command(self, url: str, payload: dict[str, Any]) -> tuple[int, float]:
        """POST one signed slash command; its HTTP status and the seconds to the answer."""
        assert self._session is not None
        body = urlencode(payload)
        headers = self.signed(body, "application/x-www-form-urlencoded")
        began = time.perf_counter()
        async with self._session.post(url, data=body.encode(), headers=headers) as answer:
            await answer.read()
            return answer.status, time.perf_counter() - began


class FakeSlackProcess(FakeSlackChild):
    def __init__(self, signing_secret: str) -> None:
        super().__init__(signing_secret, _serve)

    @property
    def bot_token(self) -> str:
        return str(self.started.get("bot_token", ""))

    async def command(
        self, url: str, command: str, text: str = "", *, user_id: str, channel_id: str
    ) -> tuple[int, float]:
        """POST one signed command; its HTTP status and the seconds to the answer."""
        payload = self.payloads.slash_command_payload(
            command, text, user_id=user_id, channel_id=channel_id
        )
        return await self.post_command(url, payload)
