"""SIGKILL while paid image requests are waiting at fal: after a restart the bot fetches the
same requests instead of paying for new ones (counted at the fake fal)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.crash_support import draft_cards, environment, query
from tests.fakes.fal import FakeFal
from tests.support import SEED_IDEA, SEED_SPECIAL, wait_until

IMAGE_STEPS = 5  # four hero images and one poster frame in the seed's batch


async def start_bot(
    env: dict[str, str], cwd: Path, stdin: bytes, output: Path
) -> asyncio.subprocess.Process:
    """The console bot, typing `stdin`; what it prints (its chat) goes to `output`, its log
    beside it (for reading when a test fails)."""
    with output.open("wb") as out, output.with_suffix(".log").open("wb") as log:
        bot = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "console",
            stdin=asyncio.subprocess.PIPE,
            stdout=out,
            stderr=log,
            cwd=cwd,
            env=env,
        )
    assert bot.stdin is not None
    bot.stdin.write(stdin)
    await bot.stdin.drain()
    return bot


@contextlib.asynccontextmanager
async def reaped(bot: asyncio.subprocess.Process) -> AsyncIterator[asyncio.subprocess.Process]:
    """The bot, killed on the way out if a failed test left it running."""
    try:
        yield bot
    finally:
        if bot.returncode is None:
            bot.kill()
            await bot.wait()


@pytest.mark.parametrize("polls", [1, 4, 9, 14])
async def test_kill_while_fal_is_working_then_restart_pays_once(tmp_path: Path, polls: int) -> None:
    async with contextlib.AsyncExitStack() as stack:
        fal = await stack.enter_async_context(FakeFal(polls_in_queue=2, polls_in_progress=1))
        env = environment(tmp_path) | {
            "FAL_KEY": fal.api_key,
            "FAL_QUEUE_URL": fal.url,
            "MEDIA_HOSTS": fal.media_host,
            "FAL_POLL_INTERVAL_S": "0.05",
            "IMAGE_CONCURRENCY": "1",
            "OFFLINE_LATENCY_S": "0",
        }
        script = f'/propose {SEED_IDEA} special:"{SEED_SPECIAL}"\n/run 1\n'.encode()
        outputs = [tmp_path / "output-1.txt", tmp_path / "output-2.txt"]
        bot = await stack.enter_async_context(
            reaped(await start_bot(env, tmp_path, script, outputs[0]))
        )
        await wait_until(lambda: len(fal.status_polls) >= polls, 30)
        os.kill(bot.pid, signal.SIGKILL)
        await bot.wait()
        submitted = sum(fal.submissions.values())
        assert 1 <= submitted < IMAGE_STEPS, "the kill should fall in the middle of the images"

        bot = await stack.enter_async_context(
            reaped(await start_bot(env, tmp_path, b"wait\n", outputs[1]))
        )
        assert bot.stdin is not None
        bot.stdin.close()
        async with asyncio.timeout(60):
            assert await bot.wait() == 0

        db = tmp_path / "draftroom.db"
        assert query(db, "SELECT status FROM runs") == [("done",)]
        assert sum(fal.submissions.values()) == IMAGE_STEPS
        assert query(
            db,
            "SELECT COUNT(*) FROM steps WHERE name IN ('hero_image', 'poster_frame')"
            " AND status = 'done' AND provider = 'fal' AND cost_usd = 0.06 AND attempts = 1",
        ) == [(IMAGE_STEPS,)]
        # Counted where a person sees them: the console's output, across both starts.
        shown = draft_cards("".join(path.read_text() for path in outputs))
        assert shown == {(post, 1): 1 for post in range(1, 6)}, shown
