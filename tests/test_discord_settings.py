"""`/draftroom settings` on the fake Discord: a member with Manage Server gets a modal filled in
with the settings in force, a wrong field is named and nothing is stored, good values are stored
and decide the next approval with no restart; anyone else is refused and nothing opens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from handlers.workspace_settings import NOT_AN_ADMIN
from tests.db_rows import rows
from tests.discord_support import (
    Bot,
    discord_bot,
    discord_py_restored,
    discord_settings,
    embed_text,
    eventually,
    running_bot,
)
from tests.fakes.discord import MANAGE_GUILD, FakeDiscord
from tests.test_discord_reactions import PUBLISHED, post_id_of, status_of

EPHEMERAL = 1 << 6
FIELDS = ["approvers", "editors", "approvals_required", "allow_self_approval", "daily_budget_usd"]
MANAGER = 1200000000000000310
NEW_APPROVER = 1200000000000000311


def settings_rows(bot: Bot) -> list[tuple[Any, ...]]:
    sql = (
        "SELECT workspace, approvers, editors, approvals_required, allow_self_approval,"
        " daily_budget_usd, updated_by FROM workspace_settings"
    )
    return rows(bot.settings.db_path, sql)


def private_notes(fake: FakeDiscord, user: int) -> list[str]:
    dm = fake.dm_channel_of(user)
    return [] if dm is None else [m["content"] for m in fake.messages(dm)]


def a_manager(fake: FakeDiscord) -> int:
    fake.add_user(MANAGER, "manager")
    fake.give_permissions(MANAGER, MANAGE_GUILD)
    return MANAGER


async def open_settings(bot: Bot, user: int) -> Any:
    ix = await bot.fake.dispatch_interaction("draftroom settings", user_id=user)
    await eventually(lambda: ix.response_type is not None)
    return ix


async def submit(bot: Bot, user: int, **values: str) -> dict[str, Any]:
    """Submit the open settings modal with `values` typed in; the ephemeral answer."""
    ix = await bot.fake.submit_modal(values, user)
    await eventually(lambda: ix.followup_edited_loading or ix.followup_ids)
    answer = bot.followup(ix)
    assert answer["flags"] & EPHEMERAL
    return answer


async def test_a_manager_gets_the_settings_in_force_and_a_wrong_field_is_named(
    tmp_path: Path,
) -> None:
    async with discord_bot(tmp_path) as bot:
        fake = bot.fake
        manager = a_manager(fake)
        ix = await open_settings(bot, manager)
        assert ix.response_type == 9
        modal = fake.open_modal(manager)
        assert modal is not None and modal.title == "draftroom settings"
        assert [i["custom_id"] for i in modal.inputs] == FIELDS
        # The install's .env (APPROVERS: the fake's approver), as no settings of its own exist.
        assert modal.values() == {
            "approvers": str(fake.approver_id),
            "editors": "",
            "approvals_required": "1",
            "allow_self_approval": "no",
            "daily_budget_usd": "",
        }
        required = {i["custom_id"]: i["required"] for i in modal.inputs}
        assert not required["editors"] and not required["daily_budget_usd"]
        assert required["approvers"] and required["approvals_required"]

        answer = await submit(bot, manager, approvals_required="zero")
        text = embed_text(answer)
        assert "Not saved" in text
        assert "Approvals needed to publish" in text and "whole number from 1 to 10" in text
        assert answer["embeds"][0]["description"].count("\n") == 0  # the wrong field only
        assert settings_rows(bot) == []


async def test_saved_settings_decide_the_next_approval_without_a_restart(tmp_path: Path) -> None:
    async with discord_bot(tmp_path) as bot:
        fake = bot.fake
        manager = a_manager(fake)
        fake.add_user(NEW_APPROVER, "new-approver")
        old_approver = fake.approver_id
        [draft] = await bot.drafted()

        await open_settings(bot, manager)
        answer = await submit(
            bot,
            manager,
            approvers=f"<@{NEW_APPROVER}>",
            editors=f"{fake.non_approver_id}",
            allow_self_approval="no",
            daily_budget_usd="12.50",
        )
        guild = f"discord:{fake.guild_id}"
        assert settings_rows(bot) == [
            (
                guild,
                f"discord:{NEW_APPROVER}",
                f"discord:{fake.non_approver_id}",
                1,
                0,
                12.5,
                f"discord:{manager}",
            )
        ]
        shown = embed_text(answer)
        assert answer["embeds"][0]["title"] == "draftroom settings"
        assert f"Approvers: {NEW_APPROVER}" in shown and "Daily budget: $12.50" in shown

        # The .env's approver no longer counts; the one just named does.
        await fake.dispatch_reaction(bot.channel, int(draft["id"]), old_approver, "✅")
        [note] = await eventually(lambda: private_notes(fake, old_approver))
        assert "you are not an approver" in note
        await bot.idle()
        assert status_of(bot, post_id_of(draft)) == "awaiting_approval"

        await fake.dispatch_reaction(bot.channel, int(draft["id"]), NEW_APPROVER, "✅")
        await eventually(lambda: [t for t in bot.thread_titles(draft) if PUBLISHED in t], 15)
        await bot.idle()
        assert status_of(bot, post_id_of(draft)) == "published"

        # Opened again, the modal holds what was saved.
        await open_settings(bot, manager)
        modal = fake.open_modal(manager)
        assert modal is not None
        assert modal.values()["approvers"] == str(NEW_APPROVER)
        assert modal.values()["daily_budget_usd"] == "12.5"


async def test_a_member_without_manage_server_is_refused_and_nothing_opens(
    tmp_path: Path,
) -> None:
    async with discord_bot(tmp_path) as bot:
        fake = bot.fake
        member = fake.approver_id  # an approver, but not a manager of the server
        fake.allow_command("draftroom", member)  # the server shows them the command anyway
        ix = await open_settings(bot, member)
        assert ix.response_type == 4 and ix.ephemeral
        said = bot.followup(ix)["content"]
        assert NOT_AN_ADMIN in said
        assert fake.open_modal(member) is None and fake.modals == []
        assert settings_rows(bot) == []


async def test_a_manager_who_lost_manage_server_cannot_save(tmp_path: Path) -> None:
    async with discord_bot(tmp_path) as bot:
        fake = bot.fake
        manager = a_manager(fake)
        await open_settings(bot, manager)
        fake.users[manager]["roles"].clear()  # Manage Server taken away while the modal is open
        answer = await submit(bot, manager, approvers=str(NEW_APPROVER))
        assert NOT_AN_ADMIN in answer["content"]
        assert settings_rows(bot) == []


async def test_a_modal_opened_before_a_restart_is_still_saved(tmp_path: Path) -> None:
    """The submission carries the whole form: the process that opened the modal need not be
    the one that reads it (a deploy, or another process taking over the shard)."""
    with discord_py_restored():
        async with FakeDiscord() as fake:
            settings = discord_settings(fake, tmp_path)
            manager = a_manager(fake)
            async with running_bot(fake, settings) as bot:
                await open_settings(bot, manager)
            async with running_bot(fake, settings) as bot:
                answer = await submit(bot, manager, approvers=str(NEW_APPROVER))
                assert answer["embeds"][0]["title"] == "draftroom settings"
                [row] = settings_rows(bot)
                assert row[1] == f"discord:{NEW_APPROVER}"
