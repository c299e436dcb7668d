"""The Discord chat port over real HTTP: threads, idempotent sends, finding sent messages, edits."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import discord

from bot.discord_port import DiscordPort
from handlers.ports import Card, MessageRef, Section
from tests.discord_support import MESSAGES, discord_bot


async def test_a_reply_into_a_missing_thread_opens_it_on_the_message(tmp_path: Path) -> None:
    async with discord_bot(tmp_path) as bot:
        port, channel = bot.adapter.port, str(bot.channel)
        top = await port.send(channel, Card("a card without a thread"))
        assert int(top.message_id) not in bot.fake.threads
        first = await port.send(channel, Card("first reply"), thread_id=top.message_id)
        second = await port.send(channel, Card("second reply"), thread_id=top.message_id)
        thread = bot.fake.threads[int(top.message_id)]
        assert thread["name"] == "first reply"
        said = [m["embeds"][0]["title"] for m in bot.fake.messages(int(top.message_id))]
        assert said == ["first reply", "second reply"]
        assert first.channel_id == second.channel_id == channel


async def test_the_same_key_posts_one_message_and_is_found_after_a_restart(
    tmp_path: Path,
) -> None:
    async with discord_bot(tmp_path) as bot:
        port, channel = bot.adapter.port, str(bot.channel)
        card = Card("post 9 · a draft", (Section("Body", "text"),), footer="/post 9")
        sent = await port.send(channel, card, idempotency_key="draft:9:1")
        again = await port.send(channel, card, idempotency_key="draft:9:1")
        assert again == sent
        assert len(bot.fake.find_calls("POST", MESSAGES)) == 2
        assert len(bot.titled("post 9 · a draft")) == 1

        fresh = DiscordPort(bot.adapter.client)  # nothing remembered: reads channel history
        assert await fresh.find_sent(channel, "draft:9:1") == sent
        assert await fresh.find_sent(channel, "draft:9:2") is None


async def test_edits_come_at_most_once_a_second_and_end_on_the_latest(tmp_path: Path) -> None:
    async with discord_bot(tmp_path) as bot:
        port, channel = bot.adapter.port, str(bot.channel)
        ref = await port.send(channel, Card("progress 0"), idempotency_key="progress:1")
        await asyncio.gather(*(port.edit(ref, Card(f"progress {i}")) for i in range(1, 6)))
        await port.edit(ref, Card("progress 6"))
        patches = bot.fake.find_calls("PATCH", MESSAGES + "/{message_id}")
        assert 2 <= len(patches) <= 3
        gaps = [b.time - a.time for a, b in itertools.pairwise(patches)]
        assert all(gap >= 0.95 for gap in gaps)
        message = bot.fake.message(bot.channel, int(ref.message_id))
        assert message["embeds"][0]["title"] == "progress 6"


async def test_an_edit_of_a_message_in_a_thread(tmp_path: Path) -> None:
    async with discord_bot(tmp_path) as bot:
        port, channel = bot.adapter.port, str(bot.channel)
        top = await port.send(channel, Card("top"))
        reply = await port.send(channel, Card("reply"), thread_id=top.message_id)
        await port.edit(MessageRef("discord", top.message_id, reply.message_id), Card("edited"))
        [message] = bot.fake.messages(int(top.message_id))
        assert message["embeds"][0]["title"] == "edited"


async def test_edits_folded_into_one_that_fails_share_its_error_and_cost_no_call(
    tmp_path: Path,
) -> None:
    """The core edits progress on every change: a burst folded into a failing edit must not
    turn into one failing request a second per caller (each 404 counts toward an IP block)."""
    async with discord_bot(tmp_path) as bot:
        port, channel = bot.adapter.port, str(bot.channel)
        ref = await port.send(channel, Card("progress 0"))
        await port.edit(ref, Card("progress 1"))  # the next edit now waits for its turn
        messages = await port.channel(channel)
        assert isinstance(messages, discord.TextChannel)
        await messages.get_partial_message(int(ref.message_id)).delete()  # someone deleted it
        burst = (port.edit(ref, Card(f"progress {i}")) for i in range(2, 6))
        results = await asyncio.gather(*burst, return_exceptions=True)
        assert [type(r) for r in results] == [discord.NotFound] * 4
        patches = bot.fake.find_calls("PATCH", MESSAGES + "/{message_id}")
        assert [p.status for p in patches] == [200, 404]
