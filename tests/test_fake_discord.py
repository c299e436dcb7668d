"""Tests of the fake Discord, driven by a real discord.py 2.7.1 client.

How a bot points discord.py at the fake (see the ``fake`` fixture):

* ``discord.http.Route.BASE = fake.api_url``
* ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)``
* ``discord.Client(..., guild_ready_timeout=0.1)`` so ``on_ready`` does not wait 2 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest
import pytest_asyncio
import yarl
from discord import app_commands

from tests.fakes.discord import FakeDiscord
from tests.fakes.discord_gateway_protocol import zstd_compressor

MESSAGES_ROUTE = "/channels/{channel_id}/messages"


def point_at(monkeypatch: pytest.MonkeyPatch, fake: FakeDiscord) -> None:
    monkeypatch.setattr(discord.http.Route, "BASE", fake.api_url)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url)
    )


@pytest_asyncio.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        point_at(monkeypatch, server)
        yield server


def make_client(*, content: bool = True, members: bool = False, **kw: Any) -> discord.Client:
    intents = discord.Intents.default()
    intents.message_content = content
    intents.members = members
    return discord.Client(intents=intents, guild_ready_timeout=0.1, **kw)


@contextlib.asynccontextmanager
async def running(client: discord.Client, token: str) -> AsyncIterator[discord.Client]:
    """Run ``client.start(token)`` until ready; close it afterwards."""
    task = asyncio.create_task(client.start(token))
    ready = asyncio.create_task(client.wait_until_ready())
    try:
        done, _ = await asyncio.wait({task, ready}, timeout=5, return_when="FIRST_COMPLETED")
        if task in done:
            task.result()  # re-raise the start() failure
        assert ready in done, "client did not become ready"
        yield client
    finally:
        ready.cancel()
        await client.close()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)


async def wait(event: asyncio.Event, timeout: float = 5) -> None:
    await asyncio.wait_for(event.wait(), timeout)


def text_channel(client: discord.Client, fake: FakeDiscord) -> discord.TextChannel:
    channel = client.get_channel(fake.channel_id)
    assert isinstance(channel, discord.TextChannel)
    return channel


# -- connection -------------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("compression", [True, False])
async def test_login_connect_and_ready(monkeypatch: pytest.MonkeyPatch, compression: bool) -> None:
    async with FakeDiscord(gateway_compression=compression) as fake:
        point_at(monkeypatch, fake)
        client = make_client(members=True)
        async with running(client, fake.token):
            assert client.user is not None and client.user.id == fake.bot_user_id
            assert client.application_id == fake.application_id
            guild = client.get_guild(fake.guild_id)
            assert guild is not None
            assert text_channel(client, fake).guild == guild
            approver = guild.get_member(fake.approver_id)
            assert approver is not None
            assert [r.id for r in approver.roles if not r.is_default()] == [fake.approver_role_id]
            assert guild.me.guild_permissions.send_messages
            found = await guild.query_members("appr")  # op 8 -> GUILD_MEMBERS_CHUNK
            assert [m.id for m in found] == [fake.approver_id]
        assert fake.identify_count == 1
        assert fake.identifies[0]["intents"] == client.intents.value
        conn = fake.gateway_connections[0]
        assert conn.query["v"] == "10" and conn.query["encoding"] == "json"
        # discord.py asks for zstd when it can import zstandard (atproto brings it in), else zlib.
        streamed = "zstd-stream" if zstd_compressor() is not None else "zlib-stream"
        assert conn.compression == (streamed if compression else None)
        assert fake.heartbeats >= 1
        paths = [(c.method, c.path, c.status) for c in fake.calls[:2]]
        assert paths == [("GET", "/users/@me", 200), ("GET", "/oauth2/applications/@me", 200)]


@pytest.mark.asyncio
async def test_bad_token_is_refused(fake: FakeDiscord) -> None:
    client = make_client()
    with pytest.raises(discord.LoginFailure):
        await client.login("not-the-token")
    await client.close()
    assert fake.calls[0].status == 401
    assert fake.calls[0].response == {"message": "401: Unauthorized", "code": 0}


@pytest.mark.asyncio
async def test_privileged_intent_not_enabled_closes_4014(monkeypatch: pytest.MonkeyPatch) -> None:
    async with FakeDiscord(privileged_intents=()) as fake:
        point_at(monkeypatch, fake)
        client = make_client(content=True)
        with pytest.raises(discord.PrivilegedIntentsRequired):
            await asyncio.wait_for(client.start(fake.token), 5)
        await client.close()
        assert fake.gateway_connections[0].close_code is not None


@pytest.mark.asyncio
async def test_disconnect_resumes_and_replays_missed_events(fake: FakeDiscord) -> None:
    client = make_client()
    resumed = asyncio.Event()
    seen: list[str] = []
    got = asyncio.Event()

    @client.event
    async def on_resumed() -> None:
        resumed.set()

    @client.event
    async def on_message(message: discord.Message) -> None:
        seen.append(message.content)
        got.set()

    async with running(client, fake.token):
        assert await fake.disconnect_clients(4000) == 1
        await fake.dispatch_message(fake.channel_id, "sent while away", fake.approver_id)
        await wait(resumed)
        await wait(got)
        assert seen == ["sent while away"]
        assert fake.identify_count == 1 and fake.resume_count == 1
        assert fake.replayed_events == 1
        assert fake.gateway_connections[-1].path == "/resume-gateway"
        assert fake.gateway_connections[-1].resumed


@pytest.mark.asyncio
async def test_invalid_session_leads_to_new_identify(fake: FakeDiscord) -> None:
    class QuickClient(discord.Client):
        async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False):
            return None  # discord.py sleeps 5 s here before a re-IDENTIFY

    intents = discord.Intents.default()
    client = QuickClient(intents=intents, guild_ready_timeout=0.1)
    readies = 0
    second_ready = asyncio.Event()

    @client.event
    async def on_ready() -> None:
        nonlocal readies
        readies += 1
        if readies == 2:
            second_ready.set()

    async with running(client, fake.token):
        await fake.disconnect_clients(4009)  # session timed out: not resumable
        await wait(second_ready)
        assert fake.identify_count == 2
        assert [r["accepted"] for r in fake.resumes] == [False]


# -- application commands ---------------------------------------------------------------------


@pytest.mark.asyncio
async def test_sync_slash_command_defer_and_follow_up(fake: FakeDiscord) -> None:
    client = make_client()
    tree = app_commands.CommandTree(client)
    guild = discord.Object(fake.guild_id)
    done = asyncio.Event()
    seen: dict[str, Any] = {}

    @tree.command(name="draft", description="Draft a post", guild=guild)
    async def draft(interaction: discord.Interaction, topic: str, count: int = 1) -> None:
        seen.update(topic=topic, count=count, user=interaction.user.id)
        await interaction.response.defer(thinking=True)
        first = await interaction.followup.send(f"{count} drafts about {topic}", wait=True)
        second = await interaction.followup.send("and one more", wait=True)
        seen.update(first=first.id, second=second.id)
        done.set()

    async with running(client, fake.token):
        synced = await tree.sync(guild=guild)
        assert [c.name for c in synced] == ["draft"]
        scope, payload = fake.command_syncs[0]
        assert scope == fake.guild_id
        assert [(o["name"], o["type"]) for o in payload[0]["options"]] == [
            ("topic", 3),
            ("count", 4),
        ]

        ix = await fake.dispatch_interaction(
            "draft", {"topic": "solar", "count": 2}, fake.approver_id, fake.channel_id
        )
        await wait(done)

    assert seen["topic"] == "solar" and seen["count"] == 2 and seen["user"] == fake.approver_id
    [response] = fake.interaction_responses
    assert (response.interaction_id, response.type, response.status) == (ix.id, 5, 200)
    assert ix.response_type == 5
    # The first follow-up after a deferred response edits the "thinking" message.
    assert seen["first"] == ix.original_message_id
    messages = fake.messages(fake.channel_id)
    assert [m["content"] for m in messages] == ["2 drafts about solar", "and one more"]
    assert messages[0]["flags"] & 128 == 0 and messages[0]["type"] == 20
    assert messages[1]["interaction_metadata"]["original_response_message_id"] == str(seen["first"])


@pytest.mark.asyncio
async def test_autocomplete_result(fake: FakeDiscord) -> None:
    client = make_client()
    tree = app_commands.CommandTree(client)
    guild = discord.Object(fake.guild_id)

    @tree.command(name="persona", description="Pick a persona", guild=guild)
    async def persona(interaction: discord.Interaction, name: str) -> None:
        await interaction.response.send_message(name)

    @persona.autocomplete("name")
    async def suggest(interaction: discord.Interaction, current: str):
        return [app_commands.Choice(name=f"{current}-{i}", value=f"{current}-{i}") for i in (1, 2)]

    async with running(client, fake.token):
        await tree.sync(guild=guild)
        ix = await fake.dispatch_interaction("persona", {"name": "ali"}, focused="name")
        await fake.wait_until(lambda: fake.interaction_responses)
    [response] = fake.interaction_responses
    assert response.interaction_id == ix.id and response.type == 8
    assert response.data == {
        "choices": [{"name": "ali-1", "value": "ali-1"}, {"name": "ali-2", "value": "ali-2"}]
    }


@pytest.mark.asyncio
async def test_late_and_double_acknowledgement(monkeypatch: pytest.MonkeyPatch) -> None:
    async with FakeDiscord(interaction_deadline=0.2) as fake:
        point_at(monkeypatch, fake)
        client = make_client()
        tree = app_commands.CommandTree(client)
        guild = discord.Object(fake.guild_id)
        errors: list[discord.HTTPException] = []
        done = asyncio.Event()

        @tree.command(name="slow", description="Too slow", guild=guild)
        async def slow(interaction: discord.Interaction) -> None:
            await asyncio.sleep(0.3)
            try:
                await interaction.response.defer()
            except discord.NotFound as exc:
                errors.append(exc)
            done.set()

        async with running(client, fake.token):
            await tree.sync(guild=guild)
            await fake.dispatch_interaction("slow")
            await wait(done)

            # A second callback for an acknowledged interaction (raw HTTP: discord.py itself
            # refuses with InteractionResponded before sending).
            ix = await fake.dispatch_interaction("slow")
            url = f"{fake.api_url}/interactions/{ix.id}/{ix.token}/callback"
            async with aiohttp.ClientSession() as http:
                async with http.post(url, json={"type": 5}) as first:
                    assert first.status == 204
                async with http.post(url, json={"type": 5}) as second:
                    assert second.status == 400
                    assert await second.json() == {
                        "message": "Interaction has already been acknowledged.",
                        "code": 40060,
                    }
        assert [e.code for e in errors] == [10062]
        assert errors[0].status == 404


@pytest.mark.asyncio
async def test_button_component_updates_message(fake: FakeDiscord) -> None:
    client = make_client()
    clicked = asyncio.Event()

    class Approve(discord.ui.View):
        @discord.ui.button(label="Approve", custom_id="approve")
        async def approve(self, interaction: discord.Interaction, button: discord.ui.Button):
            await interaction.response.edit_message(content="approved", view=None)
            clicked.set()

    async with running(client, fake.token):
        sent = await text_channel(client, fake).send("draft 1", view=Approve())
        await fake.dispatch_component(fake.channel_id, sent.id, "approve", fake.approver_id)
        await wait(clicked)
    assert fake.message(fake.channel_id, sent.id)["content"] == "approved"
    assert fake.interaction_responses[0].type == 7


# -- messages ---------------------------------------------------------------------------------


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
