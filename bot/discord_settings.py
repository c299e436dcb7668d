"""`/draftroom settings` and `/draftroom personas`: the server's draftroom settings in modals,
for members with Manage Server (the rules take a modal's five fields; the personas have their
own).

The command answers with a modal pre-filled with the settings in force; its submission is
checked and stored whole by the core, which names each wrong field. Discord cannot show an
error beside a field of a modal, so a refused form is answered with one line per wrong field.

Discord hides the command from members without Manage Server (`default_member_permissions`),
but a server can give it to others under Integrations, so both the command and the submission
check the member's permissions again.

The submission is read from the interaction itself rather than from a modal object discord.py
keeps in memory: a modal may stay open for minutes, and in that time the process that opened it
may restart, or another may take over the server's shard. So the modal is never handed to
discord.py's view store, and `DraftroomClient.on_interaction` passes every MODAL_SUBMIT here.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import discord
from discord import app_commands

from bot import discord_embeds as embeds
from bot.discord_commands import Interaction, server_of
from bot.discord_destinations import DestinationCommand
from bot.discord_port import PLATFORM
from handlers.ports import WARNING, Card, Reply, Section, UserError
from handlers.room import DraftRoom
from handlers.workspace_publishing import PersonasForm
from handlers.workspace_settings import (
    NOT_AN_ADMIN,
    SettingsForm,
    SettingsFormError,
    WorkspaceSettings,
    settings_card,
)

log = logging.getLogger(__name__)

SETTINGS_MODAL_ID = "draftroom:settings"
PERSONAS_MODAL_ID = "draftroom:personas"
TITLE = "draftroom settings"
NOT_SAVED = f"{WARNING} Not saved:"
NOT_IN_A_SERVER = "draftroom's settings belong to a server: run /draftroom settings in one."
_CHANNEL = re.compile(r"#([0-9]{15,21})\b")
TEXT_MAX = 4000  # Discord's longest text input; a title and each label: 45 characters

Shown = Card | str
Guarded = Callable[
    [str, Awaitable[Reply | None], Callable[[Shown], Awaitable[None]]], Awaitable[None]
]
FollowUp = Callable[[Interaction, Shown], Awaitable[None]]


@dataclass(frozen=True)
class Field:
    name: str  # SettingsForm's field, and the text input's custom_id
    label: str
    style: discord.TextStyle
    max_length: int
    required: bool
    placeholder: str | None = None


FIELDS = (
    Field(
        "approvers",
        "Approvers: user ids or @mentions",
        discord.TextStyle.paragraph,
        TEXT_MAX,
        True,
        "123456789012345678, <@223456789012345678>",
    ),
    Field(
        "editors",
        "Editors (empty: anyone may propose)",
        discord.TextStyle.paragraph,
        TEXT_MAX,
        False,
        "user ids or @mentions, separated by commas or spaces",
    ),
    Field("approvals_required", "Approvals needed to publish", discord.TextStyle.short, 6, True),
    Field(
        "allow_self_approval",
        "Authors may approve their own drafts",
        discord.TextStyle.short,
        5,
        True,
        "yes or no",
    ),
    Field(
        "daily_budget_usd",
        "Daily budget in USD (empty: the install's)",
        discord.TextStyle.short,
        12,
        False,
        "such as 5 or 12.50",
    ),
)
PERSONA_FIELDS = (
    Field(
        "personas",
        "Personas: handles, the first the default",
        discord.TextStyle.paragraph,
        TEXT_MAX,
        True,
        "aiaaron, labnotes",
    ),
)
LABELS = {field.name: field.label for field in (*FIELDS, *PERSONA_FIELDS)}


class SettingsModal(discord.ui.Modal):
    """A form's fields (the rules' five, or the personas'), filled in with `values`."""

    def __init__(
        self, values: Mapping[str, str], *, fields: tuple[Field, ...] = FIELDS, custom_id: str
    ) -> None:
        super().__init__(title=TITLE, custom_id=custom_id, timeout=None)
        for field in fields:
            # Never cut: a cut list of people would save fewer of them, or a wrong id.
            value = values.get(field.name, "")
            self.add_item(
                discord.ui.TextInput(
                    label=field.label,
                    style=field.style,
                    custom_id=field.name,
                    placeholder=field.placeholder,
                    default=value or None,
                    required=field.required,
                    max_length=field.max_length,
                )
            )


def submitted_form(data: Mapping[str, Any]) -> SettingsForm:
    """The rules' form as a MODAL_SUBMIT carries it; a field that is missing reads as empty."""
    values = submitted_values(data)
    return SettingsForm(**{field.name: values.get(field.name, "") for field in FIELDS})


def submitted_values(data: Mapping[str, Any]) -> dict[str, str]:
    """The text inputs of a MODAL_SUBMIT by custom_id: in action rows (or, in newer modals, in
    labels)."""
    values: dict[str, str] = {}

    def walk(components: Any) -> None:
        for component in components or []:
            if not isinstance(component, Mapping):
                continue
            if component.get("type") == 1:
                walk(component.get("components"))
            elif component.get("type") == 18:
                walk([component.get("component")])
            elif component.get("custom_id") in LABELS:
                values[str(component["custom_id"])] = str(component.get("value") or "")

    walk(data.get("components"))
    return values


def not_saved(errors: Mapping[str, str], command: str = "/draftroom settings") -> Card:
    lines = [f"**{LABELS.get(field, field)}**: {error}" for field, error in errors.items()]
    footer = f"Nothing was changed; run {command} to try again."
    return Card(NOT_SAVED, (Section(None, "\n".join(lines)),), footer=footer)


def may_change_settings(interaction: Interaction) -> bool:
    """Manage Server, as Discord resolved the member's permissions for this interaction."""
    permissions = interaction.permissions
    return permissions.manage_guild or permissions.administrator


class SettingsDialog:
    """Opens the settings modal and saves what comes back; every answer goes through the
    adapter's `guarded`, and only the person who asked sees it."""

    def __init__(self, room: DraftRoom, guarded: Guarded, follow_up: FollowUp) -> None:
        self.room = room
        self.guarded = guarded
        self.follow_up = follow_up

    def add_command(self, tree: app_commands.CommandTree[Any]) -> None:
        group = app_commands.Group(
            name="draftroom",
            description="draftroom's own settings for this server.",
            guild_only=True,
            default_permissions=discord.Permissions(manage_guild=True),
        )

        @group.command(name="settings", description="Who approves and edits, approvals, budget.")
        async def settings(interaction: Interaction) -> None:
            await self.open(interaction)

        @group.command(name="personas", description="The personas this server writes for.")
        async def personas(interaction: Interaction) -> None:
            await self.open(interaction, personas=True)

        @group.command(name="approvals", description="The channel drafts are approved in.")
        @app_commands.describe(channel="Where drafts are posted; leave out: beside each plan.")
        async def approvals(
            interaction: Interaction, channel: discord.TextChannel | None = None
        ) -> None:
            await self.set_approval_channel(interaction, channel)

        DestinationCommand(self.room, self.guarded, self._answer, may_change_settings).add_to(group)
        tree.add_command(group)

    async def set_approval_channel(
        self, interaction: Interaction, channel: discord.TextChannel | None
    ) -> None:
        async def work() -> Reply | None:
            workspace = _workspace(interaction)
            who = str(interaction.user.id)
            saved = await self.room.save_approval_channel(
                workspace,
                PLATFORM,
                who,
                admin=may_change_settings(interaction),
                channel=None if channel is None else str(channel.id),
            )
            return await self._saved_card(workspace, who, saved)

        await self.guarded("/draftroom approvals", work(), self._answer(interaction))

    async def open(self, interaction: Interaction, *, personas: bool = False) -> None:
        async def work() -> Reply | None:
            workspace = _workspace(interaction)
            if not may_change_settings(interaction):
                raise UserError(NOT_AN_ADMIN)
            current = await self.room.workspace_settings(workspace)
            if personas:
                values = {"personas": ", ".join(current.personas)}
                modal = SettingsModal(
                    values, fields=PERSONA_FIELDS, custom_id=PERSONAS_MODAL_ID
                )  # fmt: skip
            else:
                modal = SettingsModal(vars(current.form()), custom_id=SETTINGS_MODAL_ID)
            modal.stop()  # not kept by discord.py: the submission is read statelessly
            await interaction.response.send_modal(modal)
            return None

        command = "/draftroom personas" if personas else "/draftroom settings"
        await self.guarded(command, work(), self._answer(interaction))

    async def submitted(self, interaction: Interaction) -> None:
        try:
            await interaction.response.defer(ephemeral=True, thinking=True)
        except discord.HTTPException as exc:
            log.warning("could not defer the settings form in time (%s); dropped", exc)
            return

        data: Mapping[str, Any] = interaction.data or {}
        personas = data.get("custom_id") == PERSONAS_MODAL_ID

        async def work() -> Reply | None:
            workspace = _workspace(interaction)
            who, admin = str(interaction.user.id), may_change_settings(interaction)
            try:
                if personas:
                    form = PersonasForm(personas=submitted_values(data).get("personas", ""))
                    saved = await self.room.save_workspace_personas(
                        workspace, PLATFORM, who, admin=admin, form=form
                    )
                else:
                    saved = await self.room.save_workspace_settings(
                        workspace, PLATFORM, who, admin=admin, form=submitted_form(data)
                    )
            except SettingsFormError as refused:
                command = "/draftroom personas" if personas else "/draftroom settings"
                return Reply(not_saved(refused.errors, command))
            return await self._saved_card(workspace, who, saved)

        await self.guarded("the settings form", work(), self._answer(interaction))

    async def _saved_card(self, workspace: str, who: str, saved: WorkspaceSettings) -> Reply:
        """The settings now in force, their approval channel as a mention, and their page."""
        page = await self.room.settings_link(workspace, PLATFORM, who, admin=True)
        card = settings_card(saved)
        sections = tuple(
            replace(section, text=_CHANNEL.sub(r"<#\1>", section.text)) for section in card.sections
        )
        card = replace(card, sections=sections, links=(page,) if page is not None else ())
        return Reply(card)

    def _answer(self, interaction: Interaction) -> Callable[[Shown], Awaitable[None]]:
        async def answer(shown: Shown) -> None:
            if interaction.response.is_done():
                await self.follow_up(interaction, shown)
            elif isinstance(shown, str):
                await interaction.response.send_message(
                    embeds.plain(shown), ephemeral=True, allowed_mentions=embeds.NO_MENTIONS
                )
            else:
                rendered = embeds.render(shown)
                await interaction.response.send_message(
                    embeds=rendered.embeds,
                    files=rendered.files(),
                    ephemeral=True,
                    allowed_mentions=embeds.NO_MENTIONS,
                )

        return answer


def is_settings_form(interaction: Interaction) -> bool:
    data: Mapping[str, Any] = interaction.data or {}
    return interaction.type is discord.InteractionType.modal_submit and data.get("custom_id") in (
        SETTINGS_MODAL_ID,
        PERSONAS_MODAL_ID,
    )


def _workspace(interaction: Interaction) -> str:
    workspace = server_of(interaction.guild_id)
    if workspace is None:
        raise UserError(NOT_IN_A_SERVER)
    return workspace
