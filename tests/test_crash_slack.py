"""SIGKILL of the bot process (Slack, HTTP mode) at points where a crash costs the most: while
drafts are being posted (posted at Slack, not yet recorded) and right after an approval was
acknowledged. After a restart the run completes, each item has exactly one draft message at the
fake Slack, and the approval is not lost."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from tests.crash_support import environment, query
from tests.fakes.slack import FakeSlack
from tests.slack_support import APPROVER, CHANNEL, PROPOSER, SECRET, SEED_PROPOSE, header
from tests.support import wait_until


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class BotProcess:
    def __init__(self, fake: FakeSlack, tmp_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/slack/events"
        self.cwd = tmp_path
        self.env = environment(tmp_path) | {
            "SLACK_BOT_TOKEN": fake.bot_token,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.api_url,
            "SLACK_PORT": str(self.port),
            "APPROVERS": f"{APPROVER},{PROPOSER}",
            "OFFLINE_LATENCY_S": "0.05",
        }
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        # The log of every start, for reading when a test fails.
        with (self.cwd / "bot.log").open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log,
                cwd=self.cwd,
                env=self.env,
            )
        async with asyncio.timeout(30), aiohttp.ClientSession() as http:
            while True:
                try:
                    async with http.get(f"http://127.0.0.1:{self.port}/healthz") as answer:
                        if answer.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)

    async def stop(self) -> None:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        await self.process.wait()

    async def __aenter__(self) -> BotProcess:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.process is not None and self.process.returncode is None:
            self.kill()  # a failed test leaves no bot behind
            await self.process.wait()


async def propose_and_run_seed(bot: BotProcess, fake: FakeSlack) -> None:
    """/propose the seed's batch, wait for its plan card, then /run it."""
    await fake.send_command(
        bot.url,
        "/propose",
        SEED_PROPOSE,
        signing_secret=SECRET,
        user_id=PROPOSER,
        channel_id=CHANNEL,
    )
    await until(
        lambda: any(
            header(m).startswith("plan 1") and "Planning…" not in m.text
            for m in fake.messages(CHANNEL)
        )
    )
    await fake.send_command(
        bot.url, "/run", "1", signing_secret=SECRET, user_id=PROPOSER, channel_id=CHANNEL
    )


def drafts(fake: FakeSlack) -> Counter[str]:
    return Counter(
        header(m) for m in fake.messages(CHANNEL, user=fake.bot_user_id) if " · draft " in header(m)
    )


async def until(check: Callable[[], object], timeout: float = 30) -> None:
    await wait_until(check, timeout)


@pytest.mark.parametrize("posted", [1, 3, 5])
async def test_kill_while_drafts_are_posted(tmp_path: Path, posted: int) -> None:
    async with FakeSlack() as fake, BotProcess(fake, tmp_path) as bot:
        await bot.start()
        await propose_and_run_seed(bot, fake)
        await until(lambda: sum(drafts(fake).values()) >= posted)
        bot.kill()  # Slack has the draft; the bot may not have recorded it
        await bot.stop()

        await bot.start()
        db = tmp_path / "draftroom.db"
        await until(lambda: query(db, "SELECT status FROM runs") == [("done",)])
        await until(lambda: len(drafts(fake)) == 5)
        await until(
            lambda: (
                query(
                    db,
                    "SELECT COUNT(*) FROM deliveries WHERE key LIKE 'draft:%'"
                    " AND message_id IS NOT NULL",
                )
                == [(5,)]
            )
        )
        await bot.stop()
        assert set(drafts(fake).values()) == {1}, drafts(fake)


async def test_kill_right_after_an_approval_was_acknowledged(tmp_path: Path) -> None:
    async with FakeSlack() as fake, BotProcess(fake, tmp_path) as bot:
        await bot.start()
        await propose_and_run_seed(bot, fake)
        db = tmp_path / "draftroom.db"
        await until(
            lambda: (
                query(
                    db,
                    "SELECT COUNT(*) FROM deliveries WHERE key LIKE 'draft:%'"
                    " AND message_id IS NOT NULL",
                )
                == [(5,)]
            )
        )
        target = next(m for m in fake.messages(CHANNEL) if " · draft " in header(m))
        approval = fake.reaction_event(
            "reaction_added",
            user=APPROVER,
            reaction="white_check_mark",
            channel=CHANNEL,
            ts=target.ts,
        )
        status, _ = await fake.send_event(bot.url, approval, signing_secret=SECRET)
        assert status == 200
        bot.kill()  # acknowledged; Slack will not send it again
        await bot.stop()

        await bot.start()
        post_id = int(header(target).split(" · ")[0].removeprefix("post "))
        await until(
            lambda: query(db, f"SELECT status FROM posts WHERE id = {post_id}") == [("published",)]
        )
        await bot.stop()
        announced = [
            m
            for m in fake.messages(CHANNEL, thread_ts=target.ts)
            if f"post {post_id} is published" in m.text
        ]
        # The approval is never lost (published, above). A kill between publishing and its
        # thread reply means the reply is not sent again: at most one, never two.
        assert len(announced) <= 1
        assert set(drafts(fake).values()) == {1}


async def test_kill_between_publishing_and_its_thread_reply(tmp_path: Path) -> None:
    async with FakeSlack() as fake, BotProcess(fake, tmp_path) as bot:
        await bot.start()
        await propose_and_run_seed(bot, fake)
        db = tmp_path / "draftroom.db"
        await until(lambda: len(drafts(fake)) == 5)
        await until(lambda: query(db, "SELECT status FROM runs") == [("done",)])
        target = next(m for m in fake.messages(CHANNEL) if " · draft " in header(m))
        post_id = int(header(target).split(" · ")[0].removeprefix("post "))
        # The "published" reply is held at Slack, and the process dies while it waits.
        fake.delay_next("chat.postMessage", 60)
        approval = fake.reaction_event(
            "reaction_added",
            user=APPROVER,
            reaction="white_check_mark",
            channel=CHANNEL,
            ts=target.ts,
        )
        assert (await fake.send_event(bot.url, approval, signing_secret=SECRET))[0] == 200
        await until(
            lambda: any(
                c.method == "chat.postMessage" and c.params.get("thread_ts") == target.ts
                for c in fake.calls
            )
        )
        assert query(db, f"SELECT status FROM posts WHERE id = {post_id}") == [("published",)]
        bot.kill()
        await bot.stop()

        await bot.start()
        await until(
            lambda: any(
                f"post {post_id} is published" in m.text
                for m in fake.messages(CHANNEL, thread_ts=target.ts)
            )
        )
        await bot.stop()
        announced = [
            m
            for m in fake.messages(CHANNEL, thread_ts=target.ts)
            if f"post {post_id} is published" in m.text
        ]
        assert len(announced) == 1
        assert [p.name for p in (tmp_path / "outbox").iterdir()] == [f"post-{post_id}"]
