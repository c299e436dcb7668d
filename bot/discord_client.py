"""discord.py's client and command tree for draftroom: gateway events in, the adapter's calls out.

The client holds no logic of its own; it passes each event to `ClientEvents` (the adapter), so
the adapter can be read without discord.py's class hierarchy in the way.
"""

from __future__ import annotations

import logging
from typing import Protocol

import discord
from discord import app_commands

from bot import discord_embeds as embeds
from bot.discord_client_setup import guard_parsers
from bot.discord_commands import Interaction
from handlers.ports import WARNING

log = logging.getLogger(__name__)

UNREADABLE_COMMAND = (
    f"{WARNING} draftroom cannot read that command: it is unknown here or its options are out "
    "of date. Pick it again from the / menu."
)


class ClientEvents(Protocol):
    async def sync_commands(self) -> None: ...

    def connected(self, shard_id: int) -> None: ...

    async def on_reaction(
        self, payload: discord.RawReactionActionEvent, *, added: bool
    ) -> None: ...

    async def on_message(self, message: discord.Message) -> None: ...

    async def on_modal_submit(self, interaction: Interaction) -> None: ...


class DraftroomClient(discord.Client):
    """One gateway shard (`shard_id` of `shard_count`); the one that `syncs_commands` also
    syncs the command list when it logs in."""

    def __init__(
        self,
        events: ClientEvents,
        *,
        guild_ready_timeout: float,
        shard_id: int = 0,
        shard_count: int = 1,
        syncs_commands: bool = True,
    ) -> None:
        intents = discord.Intents.default()
        intents.message_content = True  # thread replies arrive empty without it
        super().__init__(
            intents=intents,
            allowed_mentions=embeds.NO_MENTIONS,
            guild_ready_timeout=guild_ready_timeout,
            max_messages=None,  # raw events need no message cache; it only costs memory and CPU
            shard_id=shard_id,
            shard_count=shard_count,
        )
        self.events = events
        self.syncs_commands = syncs_commands
        self.tree: app_commands.CommandTree[DraftroomClient] = DraftroomTree(self)
        guard_parsers(self._connection.parsers)

    @property
    def shard(self) -> int:
        return self.shard_id or 0

    async def setup_hook(self) -> None:
        if self.syncs_commands:
            await self.events.sync_commands()

    async def on_ready(self) -> None:
        self.events.connected(self.shard)

    async def on_resumed(self) -> None:
        self.events.connected(self.shard)

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await self.events.on_reaction(payload, added=True)

    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        await self.events.on_reaction(payload, added=False)

    async def on_message(self, message: discord.Message) -> None:
        await self.events.on_message(message)

    async def on_interaction(self, interaction: Interaction) -> None:
        # Commands reach the tree; a modal's submission comes here (see bot/discord_settings).
        if interaction.type is discord.InteractionType.modal_submit:
            await self.events.on_modal_submit(interaction)


class DraftroomTree(app_commands.CommandTree[DraftroomClient]):
    async def on_error(self, interaction: Interaction, error: app_commands.AppCommandError) -> None:
        """A command the tree could not run (unknown, options not as synced, a failed check):
        one log line and a short ephemeral answer, where discord.py would log a traceback and
        leave the person looking at "The application did not respond"."""
        log.warning("discord: refused an interaction: %s", error)
        command = interaction.type is discord.InteractionType.application_command
        if not command or interaction.response.is_done():
            return  # autocomplete has no message to answer with; a deferred one is answered
        try:
            await interaction.response.send_message(
                UNREADABLE_COMMAND, ephemeral=True, allowed_mentions=embeds.NO_MENTIONS
            )
        except Exception as exc:
            log.warning("answering an unreadable command failed: %s", exc)
