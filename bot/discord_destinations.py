"""`/draftroom destination`: a Discord server's own publishing destination for one of its
personas, entered by a member with Manage Server as the command's typed options.

Options, not a modal: X needs four keys besides the persona, the network and the account, and a
Discord modal holds five inputs. The command is answered privately, and the credentials are
never shown back: the answer lists the server's destinations by account (as the settings do).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from discord import app_commands
from discord.app_commands import Choice

from bot.discord_commands import Interaction, server_of, server_personas
from bot.discord_port import PLATFORM
from handlers.ports import WARNING, Card, Reply, Section, UserError
from handlers.room import DraftRoom
from handlers.workspace_destinations import DestinationForm
from handlers.workspace_settings import NETWORKS, SettingsFormError

COMMAND = "/draftroom destination"
NOT_IN_A_SERVER = "draftroom's settings belong to a server; run this in one."
# The form's fields as the command's options name them.
OPTION_OF = {"handle": "account"}

Answered = Callable[[Card | str], Awaitable[None]]
# bot.discord_settings' guard (errors to messages) and answer (privately), and its permission check.
Guarded = Callable[[str, Awaitable[Reply | None], Answered], Awaitable[None]]
Answer = Callable[[Interaction], Answered]
MayChange = Callable[[Interaction], bool]


def destinations_card(lines: list[str]) -> Card:
    shown = "\n".join(lines) or "None: each persona publishes as the personas file says."
    return Card("This server's destinations", (Section(None, shown),))


def refused_card(errors: dict[str, str]) -> Card:
    lines = [f"**{OPTION_OF.get(field, field)}**: {error}" for field, error in errors.items()]
    footer = f"Nothing was changed; run {COMMAND} to try again."
    return Card(f"{WARNING} Not saved:", (Section(None, "\n".join(lines)),), footer=footer)


class DestinationCommand:
    def __init__(
        self, room: DraftRoom, guarded: Guarded, answer: Answer, may_change: MayChange
    ) -> None:
        self.room, self.guarded, self.answer, self.may_change = room, guarded, answer, may_change

    def add_to(self, group: app_commands.Group) -> None:
        async def persona_suggestions(interaction: Interaction, current: str) -> list[Choice[str]]:
            return await server_personas(self.room, interaction, current)

        @group.command(name="destination", description="Where a persona's posts go from here.")
        @app_commands.describe(
            persona="The persona whose approved posts go to this account.",
            network="Bluesky, Mastodon or X.",
            account="Bluesky: its handle (aiaaron.bsky.social); Mastodon, X: optional.",
            instance="Mastodon only: its server, like https://mastodon.social",
            app_password="Bluesky: an app password of the account.",
            access_token="Mastodon: the app's token; X: the account's access token.",
            consumer_key="X: the app's API key.",
            consumer_secret="X: the app's API key secret.",
            access_token_secret="X: the account's access token secret.",
            remove="True: remove this destination instead.",
        )
        @app_commands.choices(
            network=[Choice(name=name, value=kind) for kind, name in NETWORKS.items()]
        )
        @app_commands.autocomplete(persona=persona_suggestions)
        async def destination(
            interaction: Interaction,
            persona: str,
            network: str,
            account: str | None = None,
            instance: str | None = None,
            app_password: str | None = None,
            access_token: str | None = None,
            consumer_key: str | None = None,
            consumer_secret: str | None = None,
            access_token_secret: str | None = None,
            remove: bool = False,
        ) -> None:
            form = DestinationForm(
                persona=persona,
                network=network,
                handle=account or "",
                instance=instance or "",
                app_password=app_password or "",
                access_token=access_token or "",
                consumer_key=consumer_key or "",
                consumer_secret=consumer_secret or "",
                access_token_secret=access_token_secret or "",
            )
            await self.save(interaction, form, remove=remove)

    async def save(self, interaction: Interaction, form: DestinationForm, *, remove: bool) -> None:
        async def work() -> Reply | None:
            workspace = server_of(interaction.guild_id)
            if workspace is None:
                raise UserError(NOT_IN_A_SERVER)
            admin = self.may_change(interaction)
            try:
                if remove:
                    lines = await self.room.remove_workspace_destination(
                        workspace, admin=admin, persona=form.persona, network=form.network
                    )
                else:
                    lines = await self.room.save_workspace_destination(
                        workspace, PLATFORM, str(interaction.user.id), admin=admin, form=form
                    )
            except SettingsFormError as refused:
                return Reply(refused_card(refused.errors))
            return Reply(destinations_card(lines))

        await self.guarded(COMMAND, work(), self.answer(interaction))
