"""A team on Discord at once: an approval given while its draft is still being posted counts,
someone whose ✅ does not count is told why privately (once), and identities carry their platform.
Through the gateway and REST of the fake Discord."""

from __future__ import annotations

from tests.discord_support import discord_bot, eventually
from tests.test_discord_reactions import PUBLISHED, announcements, post_id_of, status_of

REACTIONS_ROUTE = "PUT /channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me"


async def test_an_approval_while_the_draft_is_being_posted_counts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    async with discord_bot(tmp_path) as bot:
        fake = bot.fake
        writer = fake.non_approver_id
        await bot.command(
            "propose", writer, idea="an idea", special="Generate exactly 1 items: 1 with "
            "content_format='text'."
        )  # fmt: skip
        # Discord holds the bot's own ✅ ❌ 🔁 back for a second; the approver is quicker.
        fake.fail_next(REACTIONS_ROUTE, 429, retry_after=1.0)
        await bot.command("run", writer, plan=1)
        [draft] = await eventually(lambda: bot.drafts())
        await fake.dispatch_reaction(bot.channel, int(draft["id"]), fake.approver_id, "✅")
        await eventually(lambda: announcements(bot, draft), timeout=15)
        await bot.idle()
        assert status_of(bot, post_id_of(draft)) == "published"
        assert len(announcements(bot, draft)) == 1


async def test_a_reaction_that_does_not_count_is_explained_once_in_private(tmp_path) -> None:  # type: ignore[no-untyped-def]
    async with discord_bot(tmp_path) as bot:
        fake = bot.fake
        [draft] = await bot.drafted()
        outsider = fake.non_approver_id  # the writer: not an approver here
        for added in (True, False, True):
            await fake.dispatch_reaction(bot.channel, int(draft["id"]), outsider, "✅", add=added)
        await eventually(lambda: fake.dm_channel_of(outsider) is not None)
        await bot.idle()
        dm = fake.dm_channel_of(outsider)
        assert dm is not None
        notes = [m["content"] for m in fake.messages(dm)]
        assert len(notes) == 1 and "does not count: you are not an approver" in notes[0]
        assert not [t for t in bot.thread_titles(draft) if PUBLISHED in t]
        assert status_of(bot, post_id_of(draft)) == "awaiting_approval"
