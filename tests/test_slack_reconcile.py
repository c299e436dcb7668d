"""An approval given on Slack while the bot was down (or whose event was lost in a crash after
it was acknowledged) is read back from Slack at start-up and applied once."""

from __future__ import annotations

from pathlib import Path

from storage import posts
from tests.fakes.slack import FakeSlack
from tests.slack_support import (
    APPROVER,
    CHANNEL,
    OUTSIDER,
    SEED_PROPOSE,
    header,
    propose_and_run,
    running_bot,
    slack_settings,
)


async def test_an_approval_given_while_down_is_applied_once_at_start(tmp_path: Path) -> None:
    async with FakeSlack() as fake:
        settings = slack_settings(tmp_path, fake)
        async with running_bot(fake, settings) as bot:
            drafts = await propose_and_run(bot, SEED_PROPOSE)
            assert len(drafts) == 5
        target = drafts[0]
        post_id = int(header(target).split(" · ")[0].removeprefix("post "))
        # Reactions recorded at Slack while no bot is running; no event reaches anyone.
        fake.reaction_event(
            "reaction_added",
            user=APPROVER,
            reaction="white_check_mark",
            channel=CHANNEL,
            ts=target.ts,
        )
        fake.reaction_event(
            "reaction_added", user=OUTSIDER, reaction="x", channel=CHANNEL, ts=drafts[1].ts
        )
        for _ in range(2):  # two restarts: the second finds nothing new to do
            async with running_bot(fake, settings) as bot:
                await bot.settle()
                reader = bot.app.room.deps.db.reader
                post = await posts.get_post(reader, post_id)
                assert post is not None and post.status == "published"
                other_id = int(header(drafts[1]).split(" · ")[0].removeprefix("post "))
                other = await posts.get_post(reader, other_id)
                assert other is not None and other.status == "awaiting_approval"
        announcements = [
            m for m in bot.thread(target.ts) if f"post {post_id} is published" in m.text
        ]
        assert len(announcements) == 1
        assert (tmp_path / "outbox" / f"post-{post_id}" / "post.json").exists()
