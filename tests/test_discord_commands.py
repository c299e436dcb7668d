"""Slash commands and thread replies on the fake Discord: deferral, errors, autocomplete."""

from __future__ import annotations

from pathlib import Path

import pytest

from handlers.ports import SOMETHING_WENT_WRONG, Card
from tests.discord_support import (
    discord_bot,
    discord_py_restored,
    discord_settings,
    embed_text,
    running_bot,
)
from tests.fakes.discord import FakeDiscord

EPHEMERAL = 1 << 6


async def test_commands_are_synced_to_the_guild_with_typed_options(tmp_path: Path) -> None:
    async with discord_bot(tmp_path) as bot:
        [(scope, commands)] = bot.fake.command_syncs
        assert scope == bot.fake.guild_id
        by_name = {c["name"]: c for c in commands}
        assert set(by_name) == {
            "propose",
            "refine",
            "run",
            "post",
            "posts",
            "schedule",
            "unschedule",
            "costs",
            "ask",
            "queue",
            "links",
            "revoke",
            "help",
            "draftroom",
        }
        assert all(c["description"] for c in commands)
        # /draftroom settings: for members with Manage Server (1 << 5), in servers only.
        draftroom = by_name["draftroom"]
        assert [(o["type"], o["name"]) for o in draftroom["options"]] == [
            (1, "settings"),
            (1, "personas"),
            (1, "approvals"),
            (1, "destination"),
        ]
        [approvals] = [o for o in draftroom["options"] if o["name"] == "approvals"]
        [channel] = approvals["options"]
        assert (channel["type"], channel["required"]) == (7, False)  # a channel, optional
        assert int(draftroom["default_member_permissions"]) == 1 << 5
        assert draftroom["dm_permission"] is False
        options = {o["name"]: o for o in by_name["propose"]["options"]}
        assert [o["name"] for o in by_name["propose"]["options"]] == [
            "idea",
            "pillar",
            "persona",
            "special",
        ]
        assert options["idea"]["required"] and not options["special"]["required"]
        # Suggested from the member's server's personas as they type (tests/test_discord_personas).
        assert options["persona"]["autocomplete"] and "choices" not in options["persona"]
        assert "structural_dread" in {c["value"] for c in options["pillar"]["choices"]}
        assert all(o["description"] for c in commands for o in c.get("options", []))
        plan = by_name["run"]["options"][0]
        assert (plan["type"], plan["autocomplete"]) == (4, True)
        days = by_name["costs"]["options"][0]
        assert (days["min_value"], days["max_value"]) == (1, 366)


async def test_without_a_guild_the_commands_are_synced_globally(tmp_path: Path) -> None:
    with discord_py_restored():
        async with FakeDiscord() as fake:
            settings = discord_settings(fake, tmp_path, DISCORD_GUILD_ID=None)
            async with running_bot(fake, settings):
                assert [scope for scope, _ in fake.command_syncs] == [None]


async def test_every_command_is_deferred_first_and_answered_ephemerally(tmp_path: Path) -> None:
    async with discord_bot(tmp_path) as bot:
        fake = bot.fake
        shown = await bot.command("costs", days=3)
        [deferral] = [r for r in fake.interaction_responses if r.interaction_id == shown.id]
        assert deferral.type == 5 and deferral.data == {"flags": EPHEMERAL}
        assert deferral.elapsed < 3.0
        answer = bot.followup(shown)
        assert answer["flags"] & EPHEMERAL
        assert answer["embeds"][0]["title"] == "No spend in the last 3 days."

        listed = await bot.command("posts", status="published", persona="aiaaron")
        assert bot.followup(listed)["embeds"][0]["title"] == "No posts match."


async def test_a_refusal_is_one_short_ephemeral_line(tmp_path: Path) -> None:
    async with discord_bot(tmp_path) as bot:
        shown = await bot.command("run", plan=99)
        answer = bot.followup(shown)
        assert answer["content"] == "⚠ there is no plan 99 here. Start one with /propose."
        assert answer["flags"] & EPHEMERAL and not answer["embeds"]
        bad = await bot.command(
            "propose", idea="x", special="Generate exactly 2 items: 1 with content_format='text'."
        )
        assert bot.followup(bad)["content"].startswith("⚠ the counts do not add up")
        assert SOMETHING_WENT_WRONG not in str(bot.fake.messages(bot.channel))
        assert not bot.bot_messages()


async def test_plan_and_post_ids_are_suggested_from_recent_ones(tmp_path: Path) -> None:
    async with discord_bot(tmp_path) as bot:
        fake = bot.fake
        await bot.drafted(idea="benchmarks as safety cases")
        await bot.drafted(idea="model cards as marketing")
        ix = await fake.dispatch_interaction("run", {"plan": ""}, focused="plan")
        await fake.wait_until(lambda: ix.response_type == 8)
        [response] = [r for r in fake.interaction_responses if r.interaction_id == ix.id]
        choices = response.data["choices"]
        assert [c["value"] for c in choices] == [2, 1]
        assert choices[0]["name"].startswith("plan 2 · @aiaaron · model cards")

        ix = await fake.dispatch_interaction("post", {"post": "2"}, focused="post")
        await fake.wait_until(lambda: ix.response_type == 8)
        [response] = [r for r in fake.interaction_responses if r.interaction_id == ix.id]
        assert [c["value"] for c in response.data["choices"]] == [2]
        assert "awaiting approval" in response.data["choices"][0]["name"]


async def test_thread_replies_refine_and_other_messages_are_ignored(tmp_path: Path) -> None:
    async with discord_bot(tmp_path) as bot:
        fake = bot.fake
        [draft] = await bot.drafted()
        writer = fake.non_approver_id
        stranger = await fake.dispatch_message(bot.channel, "a message of a person", writer)
        await fake.dispatch_message(bot.channel, "chatter in the channel", writer)
        thread = await bot.adapter.port.send(
            str(bot.channel), Card("elsewhere"), thread_id=stranger["id"]
        )
        await fake.dispatch_message(int(stranger["id"]), "a reply nobody asked for", writer)
        await fake.dispatch_message(int(draft["id"]), "the bot talking", fake.bot_user_id)
        # A reply that is answered, sent after them: once it is, they were read and handled.
        await fake.dispatch_message(int(draft["id"]), "x" * 2100, writer)
        await fake.wait_until(lambda: len(bot.thread_titles(draft)) == 2)
        await bot.events_handled()
        assert bot.thread_titles(stranger) == ["elsewhere"] and thread.message_id
        assert bot.thread_titles(draft)[0] == "the bot talking"
        await fake.dispatch_message(int(draft["id"]), "make it shorter", writer)
        await fake.wait_until(lambda: len(bot.thread_titles(draft)) == 3)
        _, refused, revising = bot.thread_titles(draft)
        assert refused.startswith("⚠ that reply is 2100 characters")
        assert revising.startswith("Revising post 1 (draft 2)")
        await bot.idle()
        assert [d["embeds"][0]["title"] for d in bot.drafts()][-1].endswith("draft 2")


async def test_a_command_in_a_plan_thread_answers_in_that_thread(tmp_path: Path) -> None:
    async with discord_bot(tmp_path) as bot:
        fake = bot.fake
        await bot.drafted()
        [card] = bot.titled("plan 1 ")
        thread_id = int(card["id"])
        ix = await fake.dispatch_interaction(
            "ask", {"question": "what did we say about benchmarks?"}, channel_id=thread_id
        )
        await fake.wait_until(lambda: ix.followup_edited_loading or ix.followup_ids, 10)
        assert [t for t in bot.thread_titles(card) if t.startswith("Q: what did we say")]


async def test_an_unexpected_failure_is_logged_and_shown_briefly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with discord_bot(tmp_path) as bot:
        shown: list[Card | str] = []

        async def answer(what: Card | str) -> None:
            shown.append(what)

        async def broken() -> None:
            raise RuntimeError("the database went away")

        await bot.adapter.guarded("/costs", broken(), answer)
        assert shown == [SOMETHING_WENT_WRONG]
        assert "the database went away" in caplog.text
        assert "the database went away" not in str(shown)


async def test_help_answers_a_command_and_setup_privately(tmp_path: Path) -> None:
    async with discord_bot(tmp_path) as bot:
        shown = await bot.command("help", bot.fake.approver_id, topic="queue")
        assert shown.ephemeral
        assert "/queue" in embed_text(bot.followup(shown))
        setup = await bot.command("help", bot.fake.non_approver_id, topic="setup")
        assert "/help setup is for approvers (APPROVERS)" in bot.followup(setup)["content"]
