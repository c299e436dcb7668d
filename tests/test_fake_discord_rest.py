"""Tests of the fake Discord, driven by a real discord.py 2.7.1 client: messages, embeds and
files, Discord's limits, rate limits, nonces, reactions, threads, the message content intent
and raw REST errors."""

from __future__ import annotations

import asyncio
import io
import time

import aiohttp
import discord
import pytest

from tests.fake_discord_client import (
    MESSAGES_ROUTE,
    fake,
    make_client,
    running,
    text_channel,
    wait,
)
from tests.fakes.discord import FakeDiscord

__all__ = ["fake"]  # the fixture, used by name


@pytest.mark.asyncio
async def test_embed_and_file_attachment(fake: FakeDiscord) -> None:
    client = make_client()
    async with running(client, fake.token):
        embed = discord.Embed(title="Draft #1", description="Body text")
        embed.add_field(name="Persona", value="analyst").set_footer(text="draftroom")
        image = discord.File(io.BytesIO(b"\x89PNG fake bytes"), filename="hero.png")
        sent = await text_channel(client, fake).send("New draft", embed=embed, file=image)
        assert sent.embeds[0].title == "Draft #1"
        assert await sent.attachments[0].read() == b"\x89PNG fake bytes"

        edited = await sent.edit(content="New draft (v2)")
        assert edited.content == "New draft (v2)" and edited.edited_at is not None
        history = [m.content async for m in text_channel(client, fake).history(limit=10)]
        assert history == ["New draft (v2)"]

    [stored] = fake.messages(fake.channel_id)
    assert stored["content"] == "New draft (v2)"
    assert stored["embeds"][0]["fields"] == [
        {"name": "Persona", "value": "analyst", "inline": True}
    ]
    [upload] = fake.files(fake.channel_id, sent.id)
    assert (upload.filename, upload.data) == ("hero.png", b"\x89PNG fake bytes")
    assert stored["attachments"][0]["content_type"] == "image/png"
    post = fake.find_calls("POST", MESSAGES_ROUTE)[0]
    assert post.json["content"] == "New draft" and post.files[0].filename == "hero.png"


@pytest.mark.asyncio
async def test_limits_answer_invalid_form_body(fake: FakeDiscord) -> None:
    client = make_client()
    async with running(client, fake.token):
        channel = text_channel(client, fake)
        with pytest.raises(discord.HTTPException) as too_long:
            await channel.send("x" * 2001)
        assert (too_long.value.status, too_long.value.code) == (400, 50035)
        assert "content" in too_long.value.text

        with pytest.raises(discord.HTTPException) as long_description:
            await channel.send(embed=discord.Embed(description="d" * 4097))
        assert long_description.value.code == 50035
        assert "embeds.0.description" in long_description.value.text

        big = [discord.Embed(description="d" * 3500) for _ in range(2)]
        with pytest.raises(discord.HTTPException) as total:
            await channel.send(embeds=big)
        assert "6000" in total.value.text

        many_fields = discord.Embed(title="t")
        for i in range(26):
            many_fields.add_field(name=f"f{i}", value="v")
        with pytest.raises(discord.HTTPException) as fields:
            await channel.send(embed=many_fields)
        assert "embeds.0.fields" in fields.value.text
    assert fake.messages(fake.channel_id) == []
    body = fake.find_calls("POST", MESSAGES_ROUTE)[0].response
    assert body["message"] == "Invalid Form Body"
    assert body["errors"]["content"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"


@pytest.mark.asyncio
async def test_rate_limit_is_waited_out_and_posts_once(fake: FakeDiscord) -> None:
    client = make_client()
    async with running(client, fake.token):
        fault = fake.fail_next("POST /channels/{channel_id}/messages", 429, retry_after=0.5)
        started = time.monotonic()
        await text_channel(client, fake).send("after the rate limit")
        elapsed = time.monotonic() - started
    assert elapsed >= 0.5
    assert fault.hits == 1
    assert [c.status for c in fake.find_calls("POST", MESSAGES_ROUTE)] == [429, 200]
    assert [m["content"] for m in fake.messages(fake.channel_id)] == ["after the rate limit"]


@pytest.mark.asyncio
async def test_rate_limit_without_via_is_a_cloudflare_ban(fake: FakeDiscord) -> None:
    client = make_client()
    async with running(client, fake.token):
        fake.fail_next("POST " + MESSAGES_ROUTE, 429, via=False)
        with pytest.raises(discord.HTTPException) as banned:
            await text_channel(client, fake).send("blocked")
        assert banned.value.status == 429


@pytest.mark.asyncio
async def test_nonce_deduplicates_even_across_server_error_retry(fake: FakeDiscord) -> None:
    client = make_client()
    async with running(client, fake.token):
        channel = text_channel(client, fake)
        first = await channel.send("draft A", nonce="draft-a")
        again = await channel.send("draft A", nonce="draft-a")
        assert first.id == again.id

        # Discord created the message but answered 500; discord.py retries the POST.
        fake.fail_next("POST " + MESSAGES_ROUTE, status=500, commit=True)
        second = await channel.send("draft B", nonce="draft-b")
    statuses = [c.status for c in fake.find_calls("POST", MESSAGES_ROUTE)]
    assert statuses == [200, 200, 500, 200]
    assert [m["content"] for m in fake.messages(fake.channel_id)] == ["draft A", "draft B"]
    assert fake.messages(fake.channel_id)[1]["id"] == str(second.id)


# -- reactions and threads --------------------------------------------------------------------


@pytest.mark.asyncio
async def test_raw_reaction_events(fake: FakeDiscord) -> None:
    client = make_client()
    events: list[discord.RawReactionActionEvent] = []
    two = asyncio.Event()

    @client.event
    async def on_raw_reaction_add(payload: discord.RawReactionActionEvent) -> None:
        events.append(payload)
        if len(events) == 2:
            two.set()

    async with running(client, fake.token):
        sent = await text_channel(client, fake).send("draft for approval")
        await sent.add_reaction("✅")  # the bot's own reaction produces an event too
        await fake.dispatch_reaction(fake.channel_id, sent.id, fake.approver_id, "✅")
        await wait(two)

    own, approval = events
    assert own.user_id == fake.bot_user_id
    assert (approval.user_id, approval.message_id) == (fake.approver_id, sent.id)
    assert (approval.channel_id, approval.guild_id) == (fake.channel_id, fake.guild_id)
    assert str(approval.emoji) == "✅" and approval.event_type == "REACTION_ADD"
    assert approval.member is not None
    assert [r.id for r in approval.member.roles if not r.is_default()] == [fake.approver_role_id]
    assert fake.reactions(fake.channel_id, sent.id, "✅") == sorted(
        [fake.bot_user_id, fake.approver_id]
    )


@pytest.mark.asyncio
async def test_reaction_listing_pages_by_user_id(fake: FakeDiscord) -> None:
    client = make_client()
    fired = asyncio.Event()

    @client.event
    async def on_raw_reaction_add(payload: discord.RawReactionActionEvent) -> None:
        fired.set()

    seeded = await fake.seed_message(fake.channel_id, "old draft")
    user_ids = [1300000000000000000 + (i * 7919) % 250 for i in range(250)]  # shuffled
    for uid in user_ids:
        fake.add_reaction_silently(fake.channel_id, int(seeded["id"]), "✅", uid)

    async with running(client, fake.token):
        message = await text_channel(client, fake).fetch_message(int(seeded["id"]))
        [reaction] = message.reactions
        assert reaction.count == 250 and not reaction.me
        listed = [user.id async for user in reaction.users()]
    # Discord lists users by ascending id; discord.py yields each page of 100 reversed.
    assert sorted(listed) == sorted(user_ids) and len(set(listed)) == 250
    assert not fired.is_set()  # silent reactions send no gateway event
    pages = fake.find_calls("GET", MESSAGES_ROUTE + "/{message_id}/reactions/{emoji}")
    assert [c.query.get("after") for c in pages] == [
        None,
        str(sorted(user_ids)[99]),
        str(sorted(user_ids)[199]),
    ]
    assert [c.query["limit"] for c in pages] == ["100", "100", "50"]
    listed_ids = [int(u["id"]) for c in pages for u in c.response]
    assert listed_ids == sorted(user_ids)


@pytest.mark.asyncio
async def test_thread_from_message_and_reply_in_it(fake: FakeDiscord) -> None:
    client = make_client()
    replies: list[discord.Message] = []
    got = asyncio.Event()

    @client.event
    async def on_message(message: discord.Message) -> None:
        if message.author.id == fake.approver_id:
            replies.append(message)
            got.set()

    async with running(client, fake.token):
        sent = await text_channel(client, fake).send("draft with discussion")
        thread = await sent.create_thread(name="Draft 1 feedback", auto_archive_duration=1440)
        assert thread.id == sent.id and thread.type is discord.ChannelType.public_thread
        with pytest.raises(discord.HTTPException) as again:
            await sent.create_thread(name="second")
        assert again.value.code == 160004

        await fake.dispatch_message(thread.id, "make it shorter", fake.approver_id)
        await wait(got)
        assert isinstance(replies[0].channel, discord.Thread)
        assert replies[0].content == "make it shorter"
        await thread.send("shortened")
    assert fake.threads[sent.id]["type"] == 11
    assert fake.threads[sent.id]["parent_id"] == str(fake.channel_id)
    assert [m["content"] for m in fake.messages(sent.id)] == ["make it shorter", "shortened"]
    assert fake.message(fake.channel_id, sent.id)["thread"]["id"] == str(sent.id)


@pytest.mark.asyncio
async def test_message_content_needs_the_intent(fake: FakeDiscord) -> None:
    client = make_client(content=False)
    contents: list[str] = []
    two = asyncio.Event()

    @client.event
    async def on_message(message: discord.Message) -> None:
        contents.append(message.content)
        if len(contents) == 2:
            two.set()

    async with running(client, fake.token):
        await fake.dispatch_message(fake.channel_id, "plain", fake.approver_id)
        await fake.dispatch_message(fake.channel_id, f"<@{fake.bot_user_id}> hi", fake.approver_id)
        await wait(two)
    assert contents == ["", f"<@{fake.bot_user_id}> hi"]


# -- raw REST ---------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_raw_rest_errors_and_fault_headers(fake: FakeDiscord) -> None:
    auth = {"Authorization": f"Bot {fake.token}"}
    url = f"{fake.api_url}/channels/{fake.channel_id}/messages"
    async with aiohttp.ClientSession(headers=auth) as http:
        async with http.get(f"{fake.api_url}/channels/1/messages") as unknown:
            assert unknown.status == 404 and (await unknown.json())["code"] == 10003
        async with http.post(url, json={"content": ""}) as empty:
            assert (await empty.json())["code"] == 50006

        form = aiohttp.FormData(quote_fields=False)
        form.add_field("payload_json", '{"content": "files"}')
        for i in range(11):
            form.add_field(f"files[{i}]", b"x", filename=f"{i}.txt")
        async with http.post(url, data=form) as too_many:
            assert too_many.status == 400 and (await too_many.json())["code"] == 50035

        fake.fail_next("POST " + MESSAGES_ROUTE, 429, retry_after=0.25, global_=True)
        async with http.post(url, json={"content": "hi"}) as limited:
            assert limited.status == 429
            assert limited.headers["Via"] == "1.1 google"
            assert limited.headers["Content-Type"] == "application/json"
            assert limited.headers["Retry-After"] == "1"
            assert limited.headers["X-RateLimit-Global"] == "true"
            assert await limited.json() == {
                "message": "You are being rate limited.",
                "retry_after": 0.25,
                "global": True,
            }
        async with http.post(url, json={"content": "hi"}) as ok:
            assert ok.status == 200 and "X-RateLimit-Remaining" in ok.headers
