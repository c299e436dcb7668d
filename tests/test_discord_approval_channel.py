"""`/draftroom approvals` on the fake Discord: a member with Manage Server names the channel
drafts are posted in; the next run's drafts go there and not beside their plan, an approver's ✅
there publishes, and anyone without Manage Server is refused with nothing stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from handlers.workspace_settings import NOT_AN_ADMIN
from tests.db_rows import rows
from tests.discord_support import (
    discord_py_restored,
    discord_settings,
    embed_text,
    eventually,
    running_bot,
)
from tests.fakes.discord import FakeDiscord
from tests.test_discord_reactions import post_id_of, status_of
from tests.test_discord_settings import a_manager

CHOSEN = "SELECT workspace, approval_channel FROM workspace_publishing"


async def asked(fake: FakeDiscord, user: int, channel: int) -> Any:
    """`/draftroom approvals channel:<channel>` as `user`, once it is answered."""
    ix = await fake.dispatch_interaction("draftroom approvals", {"channel": channel}, user)
    await eventually(lambda: ix.response_type is not None)
    return ix


async def test_drafts_go_to_the_servers_approval_channel(tmp_path: Path) -> None:
    with discord_py_restored():
        async with FakeDiscord() as fake:
            approvals = fake.add_text_channel("approvals")
            manager = a_manager(fake)
            async with running_bot(fake, discord_settings(fake, tmp_path)) as bot:
                fake.allow_command("draftroom", fake.approver_id)
                ix = await asked(fake, fake.approver_id, approvals)
                assert NOT_AN_ADMIN in bot.followup(ix)["content"]
                assert rows(bot.settings.db_path, CHOSEN) == []

                ix = await asked(fake, manager, approvals)
                shown = embed_text(bot.followup(ix))
                assert f"Approval channel: <#{approvals}>" in shown
                guild = f"discord:{fake.guild_id}"
                assert rows(bot.settings.db_path, CHOSEN) == [(guild, str(approvals))]

                assert await bot.drafted() == []  # none beside the plan
                [draft] = [
                    m
                    for m in bot.titled("post ", approvals)
                    if " · draft " in m["embeds"][0]["title"]
                ]
                await fake.dispatch_reaction(approvals, int(draft["id"]), fake.approver_id, "✅")
                await eventually(lambda: status_of(bot, post_id_of(draft)) == "published", 15)
