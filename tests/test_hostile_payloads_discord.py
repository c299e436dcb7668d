"""Hostile payloads from Discord: missing fields, wrong types, oversize text, invisible
characters, unknown ids and mentions. Each is answered with a short ephemeral line where there is
someone to answer, else ignored; the adapter keeps serving; no traceback reaches chat or the log;
nothing refused is written; and no text the bot posts can ping anyone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.discord_client import UNREADABLE_COMMAND
from handlers.ports import SOMETHING_WENT_WRONG
from tests.discord_support import MESSAGES, discord_bot, eventually
from tests.discord_support import Bot as DiscordBot
from tests.hostile_support import (
    EPHEMERAL,
    HUGE,
    INVISIBLE,
    TRACEBACK,
    counts,
    errors_logged,
)

# -- Discord ------------------------------------------------------------------------------------


async def discord_answer(bot: DiscordBot, name: str, options: Any = None) -> dict[str, Any]:
    """Run a slash command as a writer; return the (ephemeral) message that answered it."""
    fake = bot.fake
    ix = await fake.dispatch_interaction(name, options, user_id=fake.non_approver_id)
    await fake.wait_until(
        lambda: ix.followup_ids or ix.followup_edited_loading or ix.response_type == 4, 10
    )
    return bot.followup(ix)


def assert_no_traceback_in_discord(bot: DiscordBot) -> None:
    bodies = json.dumps([c.json for c in bot.fake.calls], ensure_ascii=False, default=str)
    assert not TRACEBACK.search(bodies), TRACEBACK.search(bodies)
    assert SOMETHING_WENT_WRONG not in bodies


async def test_discord_refuses_bad_commands_briefly_and_writes_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with discord_bot(tmp_path) as bot:
        db = bot.app.room.deps.db
        empty = await counts(db)
        cases: list[tuple[str, Any, str]] = [
            ("nosuch", {"x": "y"}, UNREADABLE_COMMAND),
            ("propose", None, UNREADABLE_COMMAND),  # its required option missing
            ("run", None, UNREADABLE_COMMAND),
            ("propose", {"idea": HUGE}, "⚠ that is 100000 characters; /propose takes at most 2000"),
            ("propose", {"idea": INVISIBLE}, "⚠ the idea is empty."),
            ("propose", {"idea": "fine", "special": HUGE}, "⚠ that is 100000 characters"),
            ("propose", [{"name": "idea", "type": 3, "value": 12345}], "⚠ /propose takes text"),
            ("propose", {"idea": "fine", "persona": "nobody"}, "⚠ unknown persona 'nobody'."),
            ("propose", {"idea": "fine", "pillar": "nonsense"}, "⚠ unknown pillar 'nonsense'"),
            ("run", {"plan": 999999}, "⚠ there is no plan 999999 here. Start one with /propose."),
            ("run", [{"name": "plan", "type": 4, "value": "abc"}], "⚠ `abc` is not a plan id"),
            ("run", {"plan": 2**53}, "⚠ `9007199254740992` is not a plan id"),
            ("run", {"plan": -1}, "⚠ `-1` is not a plan id"),
            ("post", {"post": 999999}, "⚠ there is no post 999999 here. No posts here yet."),
            ("refine", {"plan": 999999, "note": "sharper"}, "⚠ there is no plan 999999 here."),
            ("refine", {"plan": 1, "note": HUGE}, "⚠ that is 100000 characters"),
            ("costs", [{"name": "days", "type": 4, "value": 0}], "⚠ days must be a whole number"),
            ("posts", {"status": "nonsense"}, "⚠ unknown status `nonsense`"),
            ("ask", {"question": INVISIBLE}, "⚠ the question is empty."),
        ]
        for name, options, says in cases:
            answer = await discord_answer(bot, name, options)
            assert answer["content"].startswith(says), (name, options, answer["content"])
            assert answer["flags"] & EPHEMERAL and not answer["embeds"], name
            assert len(answer["content"]) < 400

        assert await counts(db) == empty
        assert not bot.bot_messages()
        assert_no_traceback_in_discord(bot)
        assert not errors_logged(caplog)
        # Still serving: a normal command works.
        answer = await discord_answer(bot, "costs", {"days": 3})
        assert answer["embeds"][0]["title"] == "No spend in the last 3 days."


async def test_discord_malformed_gateway_events_are_dropped_and_the_bot_keeps_serving(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with discord_bot(tmp_path) as bot:
        fake = bot.fake
        [draft] = await bot.drafted()
        [plan_card] = bot.titled("plan 1 ")
        db = bot.app.room.deps.db
        before = await counts(db)
        said = len(bot.bot_messages())
        mine = await fake.seed_message(bot.channel, "a person's own message", fake.owner_id)
        # A person's message, as the gateway would send it, to move into a channel nobody knows.
        person = {**fake.message(bot.channel, int(mine["id"])), "guild_id": str(fake.guild_id)}

        approve: dict[str, Any] = {
            "user_id": str(fake.approver_id),
            "type": 0,
            "message_id": draft["id"],
            "channel_id": draft["channel_id"],
            "guild_id": str(fake.guild_id),
            "emoji": {"id": None, "name": "✅"},
            "burst": False,
        }

        def without(data: dict[str, Any], *keys: str) -> dict[str, Any]:
            return {k: v for k, v in data.items() if k not in keys}

        # (event, data, whether discord.py can read it at all)
        events: list[tuple[str, dict[str, Any], bool]] = [
            ("MESSAGE_REACTION_ADD", {**approve, "emoji": {"id": None}}, True),  # no name, member
            ("MESSAGE_REACTION_ADD", {**approve, "emoji": {"id": None, "name": None}}, True),
            ("MESSAGE_REACTION_ADD", {**approve, "emoji": {"id": "77", "name": "✅"}}, True),
            ("MESSAGE_REACTION_ADD", {**approve, "message_id": mine["id"]}, True),  # not the bot's
            ("MESSAGE_REACTION_ADD", {**approve, "message_id": "999999"}, True),  # no such message
            ("MESSAGE_CREATE", {**person, "id": "4242", "channel_id": "4343"}, True),
            ("MESSAGE_REACTION_ADD", without(approve, "emoji"), False),
            ("MESSAGE_REACTION_ADD", without(approve, "message_id"), False),
            ("MESSAGE_REACTION_ADD", without(approve, "user_id", "channel_id"), False),
            ("MESSAGE_REACTION_ADD", {**approve, "user_id": "not-a-number"}, False),
            ("MESSAGE_REACTION_REMOVE", {**approve, "emoji": "✅"}, False),
            ("INTERACTION_CREATE", {"id": "5", "type": 2, "token": "t", "version": 1}, False),
            ("INTERACTION_CREATE", {"id": "x", "type": "command", "data": None}, False),
            ("MESSAGE_CREATE", {"id": "6", "channel_id": draft["id"], "content": "?"}, False),
            ("MESSAGE_CREATE", {"id": "7", "content": "no channel", "author": {"id": "1"}}, False),
        ]
        for name, data, _ in events:
            await fake.dispatch_event(name, data)
        writer = fake.non_approver_id
        await fake.dispatch_message(int(draft["id"]), INVISIBLE * 3, writer)
        await fake.dispatch_message(int(plan_card["id"]), HUGE, writer)
        refused = "⚠ that reply is 100000 characters; a note takes at most 2000. Shorten it."
        await eventually(lambda: refused in bot.thread_titles(plan_card))
        await bot.idle()

        assert await counts(db) == before
        assert len(bot.bot_messages()) == said
        assert bot.thread_titles(draft) == []
        assert_no_traceback_in_discord(bot)
        assert not errors_logged(caplog)
        drops = [r.getMessage() for r in caplog.records if "could not read" in r.getMessage()]
        assert len(drops) == sum(not readable for *_, readable in events), drops

        # Still serving, on the same connection: a real ✅ publishes.
        assert fake.identify_count == 1
        await fake.dispatch_reaction(bot.channel, int(draft["id"]), fake.approver_id, "✅")
        await eventually(lambda: [t for t in bot.thread_titles(draft) if " is published" in t])


async def test_discord_mentions_in_ideas_and_replies_never_ping(tmp_path: Path) -> None:
    async with discord_bot(tmp_path) as bot:
        fake = bot.fake
        mentions = f"@everyone @here <@&{fake.approver_role_id}> <@{fake.owner_id}> <!channel>"
        [draft] = await bot.drafted(idea=f"why {mentions} argue")
        [plan_card] = bot.titled("plan 1 ")
        writer = fake.non_approver_id
        await fake.dispatch_message(int(plan_card["id"]), f"say {mentions}", writer)
        await fake.dispatch_message(int(draft["id"]), f"and {mentions}", writer)
        await eventually(lambda: len(bot.thread_titles(draft)) == 1)
        await eventually(lambda: any("revision 2" in t for t in bot.thread_titles(plan_card)))
        await bot.idle()
        await discord_answer(bot, "post", {"post": 1})
        await discord_answer(bot, "nosuch", {"x": mentions})

        writes = [
            c
            for c in fake.calls
            if (c.method, c.route)
            in {
                ("POST", MESSAGES),
                ("PATCH", MESSAGES + "/{message_id}"),
                ("POST", "/webhooks/{application_id}/{token}"),
            }
        ]
        answers = [
            c.json["data"]
            for c in fake.find_calls("POST", "/interactions/{interaction_id}/{token}/callback")
            if c.json["type"] == 4
        ]
        assert len({(c.method, c.route) for c in writes}) == 3 and answers
        for body in [c.json for c in writes] + answers:
            assert body["allowed_mentions"]["parse"] == [], body
            assert not body["allowed_mentions"].get("replied_user")
        assert mentions in json.dumps([c.json for c in writes], ensure_ascii=False)
