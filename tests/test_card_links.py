"""A card's links (its web pages) where a person sees them on each platform, within its limits,
and each platform's link back to a message (a Slack permalink, a Discord jump URL).

Every test goes through the real adapter to the fake platform over HTTP on 127.0.0.1; the fakes
refuse what the real platforms refuse (Block Kit limits, an embed url that is not http(s)).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import discord
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.errors import SlackApiError

from bot import discord_embeds, slack_blocks
from bot.bootstrap import build
from bot.console import run_console
from bot.slack_port import SlackClient, SlackPort
from handlers.ports import Card, Link, MessageRef, Section
from handlers.room import DraftRoom
from tests.discord_support import discord_bot
from tests.fakes.slack import MAX_BLOCKS_JSON, FakeSlack, block_errors
from tests.slack_support import CHANNEL, running_bot, slack_settings
from tests.support import console_session, make_settings

PAGE = "http://127.0.0.1:8080/p/12?t=abc.DEF-123&v=2"
PLAN = "http://127.0.0.1:8080/plans/3?t=xyz"
LIBRARY = "http://127.0.0.1:8080/posts?t=lib"
LINKS = (
    Link("post 12's page", PAGE),
    Link("plan 3 <all> & more", PLAN),
    Link("the [library]", LIBRARY),
)
LONG_BODY = " ".join(f"word{i}" for i in range(3000))


def card_with(links: tuple[Link, ...], body: str = "A headline") -> Card:
    return Card(
        "post 12 · @aiaaron · hero_text · draft 1",
        (Section(None, body), Section("Body", body), Section("Caption", body)),
        footer="✅ approve · /post 12",
        more="/post 12",
        links=links,
    )


def many_long_links(count: int = 40) -> tuple[Link, ...]:
    return tuple(
        Link(f"page {i} " + "ü" * 150, f"https://example.test/p/{i}?t=" + "x" * 400)
        for i in range(count)
    )


# ---------------------------------------------------------------- Slack


async def test_slack_shows_the_links_as_mrkdwn_after_the_body(tmp_path: Path) -> None:
    async with FakeSlack() as fake, running_bot(fake, slack_settings(tmp_path, fake)) as bot:
        assert bot.adapter.slack is not None
        ref = await bot.adapter.slack.send(CHANNEL, card_with(LINKS))
        message = fake.message(CHANNEL, ref.message_id)
        assert message is not None and message.blocks is not None
        kinds = [b["type"] for b in message.blocks]
        assert kinds == ["header", "section", "section", "section", "context", "context"]
        [links] = message.blocks[-2]["elements"]
        assert links["type"] == "mrkdwn"
        assert links["text"] == (
            "<http://127.0.0.1:8080/p/12?t=abc.DEF-123&amp;v=2|post 12's page> · "
            "<http://127.0.0.1:8080/plans/3?t=xyz|plan 3 &lt;all&gt; &amp; more> · "
            "<http://127.0.0.1:8080/posts?t=lib|the [library]>"
        )
        # The notification fallback is the card's plain text: no link, no token in it.
        assert message.text.startswith("post 12") and "?t=" not in message.text


async def test_slack_a_card_with_many_long_links_stays_inside_the_limits(tmp_path: Path) -> None:
    links = many_long_links()
    async with FakeSlack() as fake, running_bot(fake, slack_settings(tmp_path, fake)) as bot:
        assert bot.adapter.slack is not None
        ref = await bot.adapter.slack.send(CHANNEL, card_with(links, LONG_BODY))
        await bot.adapter.slack.edit(ref, card_with(links[::-1], LONG_BODY))
        message = fake.message(CHANNEL, ref.message_id)
        assert message is not None and message.blocks is not None and message.edits == 1
        assert block_errors(message.blocks) == []
        assert len(json.dumps(message.blocks)) <= MAX_BLOCKS_JSON
        links_block = next(b for b in message.blocks if b["type"] == "context")
        shown = links_block["elements"][0]["text"]
        assert slack_blocks.utf16_len(shown) <= slack_blocks.CONTEXT_CHARS
        # In the card's order, the last ones left out whole: none is cut.
        assert shown.startswith(f"<{links[-1].url}|page {len(links) - 1} ")
        assert shown.count("<https://") == shown.count(">") >= 1
        assert links[0].url not in shown
        assert any(b["type"] == "section" and "word0" in b["text"]["text"] for b in message.blocks)


async def test_slack_message_url_is_the_permalink_of_a_message_and_a_reply(
    tmp_path: Path,
) -> None:
    async with FakeSlack() as fake, running_bot(fake, slack_settings(tmp_path, fake)) as bot:
        port = bot.adapter.slack
        assert port is not None
        top = await port.send(CHANNEL, Card("a plan card"))
        reply = await port.send(CHANNEL, Card("a reply"), thread_id=top.message_id)
        slack_says = await port.client.chat_getPermalink(channel=CHANNEL, message_ts=top.message_id)
        assert port.message_url(top) == slack_says["permalink"]
        assert port.message_url(top) == (
            f"https://fake.slack.com/archives/{CHANNEL}/p{top.message_id.replace('.', '')}"
        )
        assert port.message_url(reply, thread_id=top.message_id) == (
            f"https://fake.slack.com/archives/{CHANNEL}/p{reply.message_id.replace('.', '')}"
            f"?thread_ts={top.message_id}&cid={CHANNEL}"
        )


async def test_slack_message_url_is_none_while_the_workspace_is_unknown() -> None:
    async with FakeSlack() as fake:
        fake.fail_next("auth.test", status=500, times=10)
        client = SlackClient(token=fake.bot_token, base_url=fake.api_url)
        port = SlackPort(client)
        await port.remember_workspace()
        assert port.message_url(MessageRef("slack", CHANNEL, "1700000000.000100")) is None


any_links = st.lists(
    st.builds(Link, st.text(max_size=300), st.text(max_size=900).map("https://e.test/".__add__)),
    max_size=30,
)


def first_usable(links: list[Link], unusable: str, *, stripped: bool = True) -> Link | None:
    """The first link whose URL markdown can carry (no space inside, none of `unusable`); Slack's
    renderer strips spaces around a URL, Discord's refuses them."""
    for link in links:
        url = link.url.strip() if stripped else link.url
        if url and not any(c.isspace() or c in unusable for c in url):
            return link
    return None


@settings(max_examples=60, deadline=None)
@given(links=any_links, body=st.text(max_size=4000))
def test_slack_any_links_render_inside_block_kits_limits(links: list[Link], body: str) -> None:
    message = slack_blocks.render(card_with(tuple(links), body))
    assert block_errors(message.blocks) == []
    assert len(json.dumps(message.blocks)) <= MAX_BLOCKS_JSON
    assert message.blocks[0]["type"] == "header"
    first = first_usable(links, "<>|")
    if first is not None:
        context = next(b for b in message.blocks if b["type"] == "context")
        shown = slack_blocks.escape(first.url.strip())
        assert context["elements"][0]["text"].startswith(f"<{shown}|")


# ---------------------------------------------------------------- Discord


def embeds_size(message: dict[str, Any]) -> int:
    """What Discord counts toward 6000: titles, descriptions, fields, footers (UTF-16 units)."""
    total = 0
    for embed in message["embeds"]:
        total += discord_embeds.size(embed.get("title") or "")
        total += discord_embeds.size(embed.get("description") or "")
        total += discord_embeds.size((embed.get("footer") or {}).get("text") or "")
        for field in embed.get("fields") or []:
            total += discord_embeds.size(field["name"]) + discord_embeds.size(field["value"])
    return total


async def test_discord_title_opens_the_first_link_and_a_field_lists_them(tmp_path: Path) -> None:
    async with discord_bot(tmp_path) as bot:
        links = (Link("an app link", "slack://open"), *LINKS)
        ref = await bot.adapter.port.send(str(bot.channel), card_with(links))
        message = bot.fake.message(bot.channel, int(ref.message_id))
        [embed] = message["embeds"]
        assert embed["title"].startswith("post 12") and embed["url"] == PAGE
        [field] = embed["fields"]
        assert field["name"] == "Links"
        assert field["value"] == (
            f"[post 12's page]({PAGE}) · [plan 3 <all> & more]({PLAN}) · "
            f"[the \\[library\\]]({LIBRARY})"
        )


async def test_discord_a_card_with_many_long_links_stays_inside_the_limits(
    tmp_path: Path,
) -> None:
    links = many_long_links()
    async with discord_bot(tmp_path) as bot:
        port = bot.adapter.port
        ref = await port.send(str(bot.channel), card_with(links, LONG_BODY))
        await port.edit(ref, card_with(links[::-1], LONG_BODY))
        message = bot.fake.message(bot.channel, int(ref.message_id))
        assert message["embeds"][0]["url"] == links[-1].url
        fields = [f for e in message["embeds"] for f in e.get("fields") or []]
        [field] = fields
        assert discord_embeds.size(field["value"]) <= discord_embeds.FIELD_VALUE_MAX
        assert field["value"].startswith(f"[page {len(links) - 1} ")
        assert field["value"].count("](https://") == field["value"].count(")") >= 1
        assert embeds_size(message) <= discord_embeds.EMBEDS_TOTAL_MAX
        assert "word0" in message["embeds"][0]["description"]


async def test_the_fake_discord_refuses_an_embed_url_that_is_not_http(tmp_path: Path) -> None:
    async with discord_bot(tmp_path) as bot:
        channel = await bot.adapter.port.channel(bot.channel)
        embed = discord.Embed(title="a card", url="ftp://example.test/p/1")
        with pytest.raises(discord.HTTPException) as refused:
            await channel.send(embed=embed)
        assert refused.value.code == 50035
        assert (
            "Scheme \"ftp\" is not supported. Scheme must be one of ('http', 'https')."
            in refused.value.text
        )


async def test_discord_message_url_is_the_jump_url(tmp_path: Path) -> None:
    async with discord_bot(tmp_path) as bot:
        port, channel = bot.adapter.port, str(bot.channel)
        top = await port.send(channel, Card("a plan card", opens_thread=True))
        reply = await port.send(channel, Card("a reply"), thread_id=top.message_id)
        server = bot.fake.guild_id
        assert port.message_url(top) == (
            f"https://discord.com/channels/{server}/{channel}/{top.message_id}"
        )
        assert port.message_url(reply, thread_id=top.message_id) == (
            f"https://discord.com/channels/{server}/{top.message_id}/{reply.message_id}"
        )
        assert [m["id"] for m in bot.fake.messages(int(top.message_id))] == [reply.message_id]
        assert port.message_url(MessageRef("discord", "999", "1")) is None


@settings(max_examples=60, deadline=None)
@given(links=any_links, body=st.text(max_size=6000))
def test_discord_any_links_render_inside_embed_limits(links: list[Link], body: str) -> None:
    embeds = discord_embeds.render(card_with(tuple(links), body)).embeds
    message = {"embeds": [e.to_dict() for e in embeds]}
    assert embeds_size(message) <= discord_embeds.EMBEDS_TOTAL_MAX
    for embed in message["embeds"]:
        for field in embed.get("fields") or []:
            assert 1 <= discord_embeds.size(field["value"]) <= discord_embeds.FIELD_VALUE_MAX
    first = first_usable(links, "()<>", stripped=False)
    assert message["embeds"][0].get("url") == (first.url if first else None)


# ---------------------------------------------------------------- console


async def test_console_prints_one_line_per_link_under_the_card(tmp_path: Path) -> None:
    async with console_session(make_settings(tmp_path)) as session:
        await session.console.port.send("console", card_with(LINKS))
        lines = session.transcript.splitlines()
        at = lines.index("  ✅ approve · /post 12")
        assert lines[at + 1 :] == [
            f"  ↗ post 12's page: {PAGE}",
            f"  ↗ plan 3 <all> & more: {PLAN}",
            f"  ↗ the [library]: {LIBRARY}",
        ]


async def test_the_fake_slack_refuses_a_context_text_over_3000_characters() -> None:
    async with FakeSlack() as fake:
        client = SlackClient(token=fake.bot_token, base_url=fake.api_url)
        element = {"type": "mrkdwn", "text": "x" * 3001}
        with pytest.raises(SlackApiError) as refused:
            await client.chat_postMessage(
                channel=CHANNEL, text="x", blocks=[{"type": "context", "elements": [element]}]
            )
        assert refused.value.response["error"] == "invalid_blocks"
        assert fake.messages(CHANNEL) == []


async def printed_at_start(room: DraftRoom) -> list[str]:
    """What the console prints when it starts, with piped input that only quits."""
    out = io.StringIO()
    await run_console(room, user="writer", approvers=[], stdin=io.StringIO("quit\n"), out=out)
    return out.getvalue().splitlines()


async def test_console_start_prints_the_library_link(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, PUBLIC_BASE_URL="https://draftroom.example/")
    async with build(settings) as app:
        [line] = [line for line in await printed_at_start(app.room) if line.startswith("Pages")]
        url = line.removeprefix("Pages: ")
        assert url.startswith("https://draftroom.example/posts?t=")
        grant = await app.room.deps.links.open(url.partition("?t=")[2])
        assert grant.share.kind == "library" and grant.place == ("console", "console")


async def test_console_start_says_when_links_are_off(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, PUBLIC_BASE_URL="https://draftroom.example/", SHARED_LINKS="false"
    )
    async with build(settings) as app:
        assert "Pages: off (SHARED_LINKS=false)" in await printed_at_start(app.room)
