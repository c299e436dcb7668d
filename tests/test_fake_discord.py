"""Tests of the fake Discord, driven by a real discord.py 2.7.1 client: the gateway
(connecting, resuming, intents) and interactions (commands, autocomplete, components).
tests/test_fake_discord_rest.py has its messages, limits, rate limits, reactions and threads."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands

from tests.fake_discord_client import fake, make_client, point_at, running, text_channel, wait
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord_gateway_protocol import zstd_compressor

__all__ = ["fake"]  # the fixture, used by name

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
            record = fake.interactions[interaction.id]
            # Answer only once the fake's deadline for this interaction has passed.
            await fake.wait_until(
                lambda: time.monotonic() - record.created > fake.interaction_deadline
            )
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
