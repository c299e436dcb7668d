"""Reactions on Discord drafts: who counts, repeated deliveries, and reactions missed while away."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.db_rows import scalar
from tests.discord_support import (
    Bot,
    discord_bot,
    discord_py_restored,
    discord_settings,
    eventually,
    running_bot,
)
from tests.fakes.discord import FakeDiscord

PUBLISHED = " is published"


def post_id_of(draft: dict[str, Any]) -> int:
    return int(draft["embeds"][0]["title"].split(" · ")[0].removeprefix("post "))


def status_of(bot: Bot | Path, post_id: int) -> str:
    db = bot if isinstance(bot, Path) else bot.settings.db_path
    return str(scalar(db, "SELECT status FROM posts WHERE id = ?", (post_id,)))


def reaction_rows(db: Path, post_id: int, user_id: int) -> int:
    sql = "SELECT COUNT(*) FROM reactions WHERE post_id = ? AND user_id = ?"
    return int(scalar(db, sql, (post_id, f"discord:{user_id}")))


def announcements(bot: Bot, draft: dict[str, Any]) -> list[str]:
    return [t for t in bot.thread_titles(draft) if PUBLISHED in t]


def approver_and(other: Callable[[FakeDiscord], int]) -> Callable[[FakeDiscord], str]:
    """APPROVERS: the fake's approver and one more of its users."""
    return lambda fake: f"{fake.approver_id},{other(fake)}"


async def redeliver(fake: FakeDiscord, draft: dict[str, Any], user_id: int, emoji: str) -> None:
    """MESSAGE_REACTION_ADD again for a reaction already there, as the gateway may do."""
    data = {
        "user_id": str(user_id),
        "type": 0,
        "message_id": draft["id"],
        "channel_id": draft["channel_id"],
        "guild_id": str(fake.guild_id),
        "emoji": {"id": None, "name": emoji},
        "burst": False,
        "message_author_id": str(fake.bot_user_id),
    }
    await fake.dispatch_event("MESSAGE_REACTION_ADD", data)


async def test_non_approver_and_self_approval_do_not_publish(tmp_path: Path) -> None:
    # The writer is also an approver here: their own ✅ must not count.
    async with discord_bot(
        tmp_path, APPROVERS=approver_and(lambda fake: fake.non_approver_id)
    ) as bot:
        fake = bot.fake
        [draft] = await bot.drafted()
        post_id = post_id_of(draft)
        await fake.dispatch_reaction(bot.channel, int(draft["id"]), fake.owner_id, "✅")
        await fake.dispatch_reaction(bot.channel, int(draft["id"]), fake.non_approver_id, "✅")
        await eventually(lambda: reaction_rows(bot.settings.db_path, post_id, fake.owner_id))
        await eventually(lambda: reaction_rows(bot.settings.db_path, post_id, fake.non_approver_id))
        await bot.idle()
        assert status_of(bot, post_id) == "awaiting_approval"
        assert not announcements(bot, draft)

        await fake.dispatch_reaction(bot.channel, int(draft["id"]), fake.approver_id, "✔️")
        await eventually(lambda: announcements(bot, draft))
        assert status_of(bot, post_id) == "published"


async def test_the_same_reaction_five_times_publishes_once(tmp_path: Path) -> None:
    async with discord_bot(tmp_path) as bot:
        fake = bot.fake
        [draft] = await bot.drafted()
        fake.add_reaction_silently(bot.channel, int(draft["id"]), "✅", fake.approver_id)
        await asyncio.gather(*(redeliver(fake, draft, fake.approver_id, "✅") for _ in range(5)))
        for _ in range(5):
            await asyncio.sleep(0.05)
            await redeliver(fake, draft, fake.approver_id, "✅")
        await eventually(lambda: announcements(bot, draft))
        await eventually(
            lambda: reaction_rows(bot.settings.db_path, post_id_of(draft), fake.approver_id) == 10
        )
        await bot.idle()
        assert len(announcements(bot, draft)) == 1
        published = tmp_path / "outbox" / f"post-{post_id_of(draft)}" / "post.json"
        assert published.exists()
        assert len(list((tmp_path / "outbox").iterdir())) == 1


async def test_bots_own_reactions_and_custom_emoji_are_ignored(tmp_path: Path) -> None:
    async with discord_bot(tmp_path) as bot:
        fake = bot.fake
        [draft] = await bot.drafted()
        await redeliver(fake, draft, fake.bot_user_id, "✅")
        await fake.dispatch_reaction(bot.channel, int(draft["id"]), fake.approver_id, "ok:1234")
        # A reaction that is recorded, sent after them: once it is, they were read and handled.
        writer = fake.non_approver_id
        await fake.dispatch_reaction(bot.channel, int(draft["id"]), writer, "✅")
        await eventually(lambda: reaction_rows(bot.settings.db_path, post_id_of(draft), writer))
        await bot.events_handled()
        await bot.idle()
        assert reaction_rows(bot.settings.db_path, post_id_of(draft), fake.bot_user_id) == 0
        assert reaction_rows(bot.settings.db_path, post_id_of(draft), fake.approver_id) == 0


async def test_approval_given_while_stopped_is_applied_once(tmp_path: Path) -> None:
    with discord_py_restored():
        async with FakeDiscord() as fake:
            settings = discord_settings(fake, tmp_path)
            async with running_bot(fake, settings) as bot:
                first, second = await bot.drafted(items=2)
            # While the bot is away: many bystanders react (reactors come 100 to a page), the
            # approver's ✅ sorts after them, and a ❌ lands on the other draft.
            for offset in range(150):
                bystander = fake.approver_id - 1000 - offset
                fake.add_reaction_silently(fake.channel_id, int(first["id"]), "✅", bystander)
            fake.add_reaction_silently(fake.channel_id, int(first["id"]), "✅", fake.approver_id)
            fake.add_reaction_silently(fake.channel_id, int(second["id"]), "❌", fake.approver_id)

            async with running_bot(fake, settings) as bot:
                await eventually(lambda: announcements(bot, first))
                await bot.adapter.wait_idle()
                assert bot.adapter.reconciliations == 1
                await fake.disconnect_clients(4000)  # a reconnect: RESUME, reconcile again
                await eventually(lambda: bot.adapter.reconciliations == 2)
                await bot.idle()
                assert len(announcements(bot, first)) == 1
                assert status_of(bot, post_id_of(second)) == "rejected"

            route = "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}"
            pages = [c.query for c in fake.find_calls("GET", route) if first["id"] in c.path]
            assert max(int(p["limit"]) for p in pages) == 100
            assert any("after" in p for p in pages), "the second page was asked for"
        assert reaction_rows(settings.db_path, post_id_of(first), fake.approver_id) == 1
        assert status_of(settings.db_path, post_id_of(first)) == "published"


async def test_reconciliation_counts_an_approval_once_across_reconnects(tmp_path: Path) -> None:
    approvers = approver_and(lambda fake: fake.owner_id)
    async with discord_bot(tmp_path, APPROVALS_REQUIRED=2, APPROVERS=approvers) as bot:
        fake = bot.fake
        [draft] = await bot.drafted()
        post_id = post_id_of(draft)
        fake.add_reaction_silently(bot.channel, int(draft["id"]), "✅", fake.approver_id)
        fake.add_reaction_silently(bot.channel, int(draft["id"]), "✅", fake.non_approver_id)
        await asyncio.gather(bot.adapter.reconcile(), bot.adapter.reconcile())
        await bot.adapter.reconcile()
        await fake.disconnect_clients(4000)  # RESUME: a reconciliation of its own
        await eventually(lambda: bot.adapter.reconciliations >= 5)
        assert reaction_rows(bot.settings.db_path, post_id, fake.approver_id) == 1
        assert reaction_rows(bot.settings.db_path, post_id, fake.non_approver_id) == 1
        assert status_of(bot, post_id) == "awaiting_approval"

        fake._set_reaction(bot.channel, int(draft["id"]), "✅", fake.approver_id, False)
        await bot.adapter.reconcile()  # the ✅ was taken back while nobody listened
        assert reaction_rows(bot.settings.db_path, post_id, fake.approver_id) == 2

        fake.add_reaction_silently(bot.channel, int(draft["id"]), "✅", fake.approver_id)
        await bot.adapter.reconcile()  # ... and given again
        assert reaction_rows(bot.settings.db_path, post_id, fake.approver_id) == 3

        await fake.dispatch_reaction(bot.channel, int(draft["id"]), fake.owner_id, "✅")
        await eventually(lambda: announcements(bot, draft))
        assert status_of(bot, post_id) == "published"


async def test_an_approvers_check_on_a_plan_card_runs_it(tmp_path: Path) -> None:
    async with discord_bot(tmp_path) as bot:
        fake = bot.fake
        special = "Generate exactly 1 item: 1 with content_format='hero_text'."
        await bot.command("propose", fake.non_approver_id, idea="audits", special=special)
        [card] = bot.titled("plan 1 ")
        await fake.dispatch_reaction(bot.channel, int(card["id"]), fake.non_approver_id, "✅")
        await fake.dispatch_reaction(bot.channel, int(card["id"]), fake.approver_id, "✅")
        await eventually(lambda: bot.titled("run 1 · plan 1"))
        await bot.idle()
        assert len(bot.drafts()) == 1 and len(bot.titled("run ")) == 1
