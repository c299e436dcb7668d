"""A draft that Slack will not take is reported in the run's progress, then posted later, once."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.slack import FakeSlack
from tests.slack_support import SEED_PROPOSE, block_text, eventually, running_bot, slack_settings


async def test_a_draft_that_fails_to_post_is_reported_and_retried(tmp_path: Path) -> None:
    async with FakeSlack() as fake:
        settings = slack_settings(tmp_path, fake, OFFLINE_LATENCY_S="0.3")
        async with running_bot(fake, settings) as bot:
            assert await bot.command("/propose", SEED_PROPOSE) == 200
            await bot.settle()
            assert await bot.command("/run", "1") == 200
            await eventually(lambda: len(bot.channel_cards("run 1 ")) == 1)
            # Slack refuses every draft with a hard error (not one to retry at once) until the
            # test lets them through: a sweep meanwhile (PostgreSQL's worker runs one every
            # minute) is refused too.
            fake.fail_next("chat.postMessage", 200, error="fatal_error", times=1000)

            def unposted() -> int:
                return block_text(bot.channel_cards("run 1 ")[0]).count("draft not posted yet (")

            await eventually(lambda: unposted() == 5, within=15)
            assert bot.drafts() == []

            fake.stop_failing("chat.postMessage")
            # What the sweeper does every 10 s; the worker's own sweep may run beside it.
            await bot.app.room.sweep()
            await bot.settle()
            assert len(bot.drafts()) == 5
            assert await bot.app.room.sweep() == 0  # nothing left, nothing posted again
            await bot.settle()
            assert len(bot.drafts()) == 5
            await bot.app.room.deps.progress.edit(1)
            assert "draft not posted yet" not in block_text(bot.channel_cards("run 1 ")[0])
