"""The fake Discord's modals and command permissions, driven by a real discord.py client: a
modal outside Discord's limits is refused as Discord refuses it, a submission arrives in
Discord's shape, a modal cannot answer a submission, and a command with default member
permissions is offered only to members holding them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest
import pytest_asyncio
from discord import app_commands

from tests.fake_discord_client import make_client, point_at, running, wait
from tests.fakes.discord import MANAGE_GUILD, FakeDiscord


@pytest_asyncio.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        point_at(monkeypatch, server)
        yield server


class Form(discord.ui.Modal):
    def __init__(self, label: str = "Topic", value: str = "solar", max_length: int = 20) -> None:
        super().__init__(title="A form", custom_id="form")
        self.add_item(
            discord.ui.TextInput(
                label=label, custom_id="topic", default=value, max_length=max_length
            )
        )
        self.add_item(discord.ui.TextInput(label="Note", custom_id="note", required=False))


@pytest.mark.asyncio
async def test_a_modal_is_shown_submitted_and_answered(fake: FakeDiscord) -> None:
    client = make_client()
    tree = app_commands.CommandTree(client)
    guild = discord.Object(fake.guild_id)
    submitted: dict[str, Any] = {}
    done = asyncio.Event()

    @tree.command(name="form", description="Open a form", guild=guild)
    async def open_form(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(Form())

    @client.event
    async def on_interaction(interaction: discord.Interaction) -> None:
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        submitted.update(interaction.data or {})
        try:
            await interaction.response.send_modal(Form())
        except discord.HTTPException as exc:
            submitted["refused"] = (exc.status, exc.code)
        await interaction.response.send_message("thanks", ephemeral=True)
        done.set()

    async with running(client, fake.token):
        await tree.sync(guild=guild)
        ix = await fake.dispatch_interaction("form")
        modal = await fake.wait_until(lambda: fake.open_modal(fake.approver_id))
        assert ix.response_type == 9
        assert modal.title == "A form" and modal.values() == {"topic": "solar", "note": ""}
        with pytest.raises(ValueError, match="required"):
            await fake.submit_modal({"topic": ""})
        with pytest.raises(ValueError, match="21 characters"):
            await fake.submit_modal({"topic": "x" * 21})
        answer = await fake.submit_modal({"note": "more"})
        await wait(done)
        assert fake.open_modal(fake.approver_id) is None

    assert submitted["custom_id"] == "form"
    rows = submitted["components"]
    assert [r["type"] for r in rows] == [1, 1]
    assert [(c["type"], c["custom_id"], c["value"]) for r in rows for c in r["components"]] == [
        (4, "topic", "solar"),
        (4, "note", "more"),
    ]
    # Another modal is no answer to a modal's submission: Discord's 400, then a message is.
    assert submitted["refused"] == (400, 50035)
    assert (answer.type, answer.response_type, answer.ephemeral) == (5, 4, True)
    said = fake.message(fake.channel_id, answer.original_message_id)
    assert said["interaction_metadata"]["triggering_interaction_metadata"]["id"] == str(ix.id)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("form", "path", "code"),
    [
        (Form(label="L" * 46), ["label"], "BASE_TYPE_BAD_LENGTH"),
        (Form(value="v" * 21), ["value"], "BASE_TYPE_MAX_LENGTH"),
        (Form(max_length=4001), ["max_length"], "NUMBER_TYPE_MAX"),
    ],
)
async def test_a_modal_outside_discords_limits_is_refused(
    fake: FakeDiscord, form: Form, path: list[str], code: str
) -> None:
    client = make_client()
    tree = app_commands.CommandTree(client)
    guild = discord.Object(fake.guild_id)
    refused: list[discord.HTTPException] = []
    done = asyncio.Event()

    @tree.command(name="form", description="Open a form", guild=guild)
    async def open_form(interaction: discord.Interaction) -> None:
        try:
            await interaction.response.send_modal(form)
        except discord.HTTPException as exc:
            refused.append(exc)
        done.set()

    async with running(client, fake.token):
        await tree.sync(guild=guild)
        await fake.dispatch_interaction("form")
        await wait(done)
    [error] = refused
    assert (error.status, error.code) == (400, 50035)
    [response] = fake.interaction_responses
    assert response.status == 400 and fake.modals == []
    call = fake.find_calls("POST", "/interactions/{interaction_id}/{token}/callback")[0]
    errors = call.response["errors"]["data"]["components"]["0"]["components"]["0"]
    for part in path:
        errors = errors[part]
    assert errors["_errors"][0]["code"] == code


@pytest.mark.asyncio
async def test_a_command_for_managers_is_offered_only_to_them(fake: FakeDiscord) -> None:
    client = make_client()
    tree = app_commands.CommandTree(client)
    guild = discord.Object(fake.guild_id)
    seen: list[bool] = []

    @tree.command(name="manage", description="For managers", guild=guild)
    @app_commands.default_permissions(manage_guild=True)
    async def manage(interaction: discord.Interaction) -> None:
        seen.append(interaction.permissions.manage_guild)
        await interaction.response.send_message("ok", ephemeral=True)

    async with running(client, fake.token):
        await tree.sync(guild=guild)
        [stored] = fake.commands[fake.guild_id]
        assert stored["default_member_permissions"] == str(MANAGE_GUILD)
        member = fake.non_approver_id
        with pytest.raises(PermissionError, match="does not offer /manage"):
            await fake.dispatch_interaction("manage", user_id=member)
        fake.allow_command("manage", member)  # the server's Integrations settings
        await fake.dispatch_interaction("manage", user_id=member)
        fake.give_permissions(fake.approver_id, MANAGE_GUILD)
        await fake.dispatch_interaction("manage", user_id=fake.approver_id)
        await fake.wait_until(lambda: len(seen) == 2)
    assert seen == [False, True]

    # A permission bitfield that is not a number is refused, as Discord refuses it.
    url = f"{fake.api_url}/applications/{fake.application_id}/guilds/{fake.guild_id}/commands"
    body = [{"name": "x", "description": "x", "default_member_permissions": "manage"}]
    headers = {"Authorization": f"Bot {fake.token}"}
    async with aiohttp.ClientSession(headers=headers) as http, http.put(url, json=body) as bad:
        assert bad.status == 400
        errors = (await bad.json())["errors"]["0"]["default_member_permissions"]
        assert errors["_errors"][0]["code"] == "PERMISSIONS_TYPE_INVALID"
