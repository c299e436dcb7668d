"""The Discord adapter: discord.py's events in, calls on the core out, cards rendered as embeds.

Slash commands are deferred (an ephemeral "thinking…") before anything else, then run; what the
core answers comes back as an ephemeral follow-up, and long work posts channel messages through
the port. Reactions and thread replies go to the core as they are; the core makes repeats
harmless. On every (re)connection the reactions on drafts still awaiting approval are read over
REST, so approvals given while the bot was away are applied.

Each gateway shard this process serves has a client of its own, connected only while the process
holds the shard's lock (`discord_client_shards`); the first shard's client is also the one the
port posts through, logged in from the start even while another process serves its shard.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bot import discord_embeds as embeds
from bot.background import Background
from bot.discord_client import DraftroomClient
from bot.discord_client_setup import back_off_if_crash_looping, point_discord_py_at
from bot.discord_client_shards import RETRY_S, ShardLocks, ShardOwnership, Unshared
from bot.discord_commands import Interaction, add_commands, server_of
from bot.discord_port import PLATFORM, DiscordPort
from bot.discord_settings import SettingsDialog, is_settings_form
from bot.outcomes import outcome
from bot.settings import Settings
from handlers.commands import Command
from handlers.ports import (
    WARNING,
    Card,
    Invocation,
    ReactionEvent,
    Reply,
    Section,
    ThreadMessage,
    emoji_action,
)
from handlers.room import DraftRoom

log = logging.getLogger(__name__)

DONE = "✓ Done — the result is posted in the channel."
START_TIMEOUT_S = 120.0


def plain_emoji(emoji: discord.PartialEmoji | discord.Emoji | str) -> str | None:
    """A standard emoji's character; custom server emoji never mean an approval action."""
    if isinstance(emoji, str):
        return emoji
    if emoji.id is not None or emoji.name is None:
        return None
    return emoji.name


class DiscordAdapter:
    """Runs the bot: `start` returns once connected and ready, `stop` disconnects."""

    def __init__(
        self,
        settings: Settings,
        room: DraftRoom,
        *,
        guild_ready_timeout: float = 2.0,
        gateway_locks: ShardLocks | None = None,
        shard_retry_s: float = RETRY_S,
    ) -> None:
        self.settings = settings
        self.room = room
        self.guild_ready_timeout = guild_ready_timeout
        wanted = settings.discord_shards
        self.settings_dialog = SettingsDialog(room, self.guarded, self._follow_up)
        self.client = self._new_client(wanted[0], syncs_commands=True)
        self.port = DiscordPort(self.client)
        self.reconciliations = 0
        self.gateways: dict[int, DraftroomClient] = {}
        self._ready: dict[int, asyncio.Event] = {}
        self._runners: dict[int, asyncio.Task[None]] = {}
        self._token = ""
        self._stopping = False
        self._reconcile_lock = asyncio.Lock()
        self.background = Background(log)
        # Without locks (one process on its own) every shard it names is its own.
        self.shards = ShardOwnership(
            wanted,
            gateway_locks or Unshared(),
            connect=self._connect_shard,
            disconnect=self._disconnect_shard,
            retry_s=shard_retry_s,
        )

    def _new_client(self, shard_id: int, *, syncs_commands: bool) -> DraftroomClient:
        client = DraftroomClient(
            self,
            guild_ready_timeout=self.guild_ready_timeout,
            shard_id=shard_id,
            shard_count=self.settings.shard_count,
            syncs_commands=syncs_commands,
        )
        add_commands(client.tree, self.room, self.run_command)
        self.settings_dialog.add_command(client.tree)
        return client

    # -- lifecycle

    async def start(self) -> None:
        """Log in, connect the shards whose locks are free and wait until they are ready; the
        others are tried again in the background (a standby holding none returns at once)."""
        token = self.settings.discord_bot_token
        if token is None:
            raise RuntimeError("DISCORD_BOT_TOKEN is not set")
        point_discord_py_at(self.settings)
        self.room.connect(self.port)
        await back_off_if_crash_looping(self.room)
        self._token = token.get_secret_value()
        await self.client.login(self._token)
        taken = await self.shards.take_free()
        if not taken:
            log.info("Discord: shards %s are served elsewhere; standing by", self.shards.wanted)
        await self._until_ready(taken)
        self.shards.keep_trying()

    async def _until_ready(self, shards: list[int]) -> None:
        if not shards:
            return
        runners = {self._runners[s] for s in shards}
        ready = asyncio.ensure_future(asyncio.gather(*(self._ready[s].wait() for s in shards)))
        waiting: set[asyncio.Future[Any]] = {*runners, ready}
        done, _ = await asyncio.wait(
            waiting, timeout=START_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED
        )
        ready.cancel()
        for runner in runners & done:
            runner.result()
        if ready not in done:
            await self.stop()
            raise ConnectionError("Discord did not become ready; see the log.")

    async def _connect_shard(self, shard_id: int) -> None:
        # `Client.connect` reconnects by itself: resumable drops RESUME, others back off
        # exponentially, and every re-IDENTIFY waits 5 s first (`before_identify_hook`), so a
        # crash loop does not spend the 1000 IDENTIFYs a day Discord allows.
        if shard_id == self.client.shard:
            client = self.client  # logged in by `start`
        else:
            client = self._new_client(shard_id, syncs_commands=False)
            await client.login(self._token)
        self.gateways[shard_id] = client
        self._ready[shard_id] = asyncio.Event()
        runner = asyncio.create_task(client.connect(), name=f"discord shard {shard_id}")
        runner.add_done_callback(lambda task: self._connection_ended(shard_id, task))
        self._runners[shard_id] = runner

    def _connection_ended(self, shard_id: int, runner: asyncio.Task[None]) -> None:
        """A shard's client gave up (discord.py ends `connect` only for good): its lock goes."""
        if self._stopping or self._runners.get(shard_id) is not runner:
            return  # disconnected on purpose
        error = None if runner.cancelled() else runner.exception()
        log.error("Discord: shard %d disconnected for good: %r", shard_id, error)
        self.background.spawn(self.shards.give_up(shard_id))

    async def _disconnect_shard(self, shard_id: int) -> None:
        client = self.gateways.pop(shard_id, None)
        runner = self._runners.pop(shard_id, None)
        self._ready.pop(shard_id, None)
        if client is None:
            return
        await client.close()
        if runner is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await runner
        if client is self.client and not self._stopping:
            client.clear()  # the port posts through it: logged in again, for REST only
            await client.login(self._token)

    async def stop(self) -> None:
        self._stopping = True
        await self.background.cancel_all()
        await self.shards.stop()
        await self.client.close()

    async def sync_commands(self) -> None:
        guild_id = self.settings.discord_guild_id
        if guild_id is None:
            await self.client.tree.sync()  # global: can take a while to show up everywhere
            return
        guild = discord.Object(guild_id)
        self.client.tree.copy_global_to(guild=guild)
        await self.client.tree.sync(guild=guild)

    def connected(self, shard_id: int) -> None:
        if event := self._ready.get(shard_id):
            event.set()
        self.background.spawn(self.reconcile())

    async def wait_idle(self) -> None:
        """Until background work started by events (reconciliation) has ended."""
        await self.background.wait_idle()

    # -- what users see ------------------------------------------------------------------------

    async def guarded(
        self,
        what: str,
        work: Awaitable[Reply | None],
        answer: Callable[[Card | str], Awaitable[None]] | None,
    ) -> None:
        """Run core work; show its reply, or what went wrong, in the one way users see it."""
        shown = await outcome(work, f"discord: {what}", log)
        if shown is None or answer is None:
            return
        await _quietly(answer(shown if isinstance(shown, str) else shown.card), f"answering {what}")

    # -- slash commands ------------------------------------------------------------------------

    async def run_command(
        self, interaction: Interaction, name: str, build: Callable[[], Command]
    ) -> None:
        try:
            await interaction.response.defer(ephemeral=True, thinking=True)
        except discord.HTTPException as exc:
            log.warning("could not defer /%s in time (%s); dropped", name, exc)
            return

        async def follow_up(shown: Card | str) -> None:
            await self._follow_up(interaction, shown)

        async def work() -> Reply | None:
            inv = invocation(interaction)
            reply = await self.room.execute(inv, build())
            return reply if reply is not None else Reply(Card(DONE))

        await self.guarded(f"/{name}", work(), follow_up)

    async def on_modal_submit(self, interaction: Interaction) -> None:
        if is_settings_form(interaction):
            await self.settings_dialog.submitted(interaction)
        else:
            log.info("discord: ignored the submission of an unknown modal")

    async def _follow_up(self, interaction: Interaction, shown: Card | str) -> None:
        if isinstance(shown, str):
            await interaction.followup.send(
                embeds.plain(shown), ephemeral=True, allowed_mentions=embeds.NO_MENTIONS
            )
            return
        rendered = embeds.render(shown)
        await interaction.followup.send(
            embeds=rendered.embeds,
            files=rendered.files(),
            ephemeral=True,
            allowed_mentions=embeds.NO_MENTIONS,
        )

    # -- reactions and thread replies ------------------------------------------------------------

    def _is_me(self, user_id: int) -> bool:
        return self.client.user is not None and user_id == self.client.user.id

    async def on_reaction(self, payload: discord.RawReactionActionEvent, *, added: bool) -> None:
        name = plain_emoji(payload.emoji)
        action = emoji_action(name) if name else None
        if name is None or action is None or self._is_me(payload.user_id):
            return
        event = ReactionEvent(
            PLATFORM,
            str(payload.channel_id),
            str(payload.message_id),
            str(payload.user_id),
            action,
            added,
            event_key=None,
            emoji=name,
            workspace=server_of(payload.guild_id),
        )

        async def in_thread(shown: Card | str) -> None:
            await self._say(str(payload.channel_id), str(payload.message_id), shown)

        await self.guarded("a reaction", self._react(event), in_thread)

    async def _react(self, event: ReactionEvent) -> Reply | None:
        await self.room.reaction(event)
        return None

    async def on_message(self, message: discord.Message) -> None:
        thread = message.channel
        if message.author.bot or message.webhook_id is not None:
            return  # the bot itself, other bots and webhooks
        if not isinstance(thread, discord.Thread) or thread.parent_id is None:
            return
        if message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return
        reply = ThreadMessage(
            PLATFORM,
            str(thread.parent_id),
            str(thread.id),
            str(message.id),
            str(message.author.id),
            message.content,
            event_key=f"message:{message.id}",
            workspace=server_of(message.guild.id if message.guild else None),
        )

        async def in_thread(shown: Card | str) -> None:
            await self._say(str(thread.parent_id), str(thread.id), shown)

        await self.guarded("a thread reply", _no_reply(self.room.thread_message(reply)), in_thread)

    async def _say(self, channel_id: str, thread_id: str, shown: Card | str) -> None:
        if isinstance(shown, str):
            fits = embeds.size(shown) <= embeds.TITLE_MAX
            shown = Card(shown) if fits else Card(WARNING, (Section(None, shown),))
        await self.port.send(channel_id, shown, thread_id=thread_id)

    # -- reconciliation --------------------------------------------------------------------------

    async def reconcile(self) -> None:
        """Apply reactions on drafts awaiting approval that changed while the bot was away: the
        core compares what is on each message now with the history it stored."""
        async with self._reconcile_lock:
            for link in await self.room.awaiting_drafts(PLATFORM):
                try:
                    present = await self._reactors(link.channel_id, link.message_id)
                    await self.room.reconcile(link, present)
                except discord.NotFound:
                    continue  # the draft message was deleted
                except Exception:
                    log.exception("reconciling draft message %s failed", link.message_id)
            self.reconciliations += 1

    async def _reactors(self, channel_id: str, message_id: str) -> set[tuple[str, str]]:
        """Who reacted with which emoji, read over REST (reactors come 100 to a page)."""
        channel = await self.port.channel(channel_id)
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            return set()
        message = await channel.fetch_message(int(message_id))
        present: set[tuple[str, str]] = set()
        for reaction in message.reactions:
            name = plain_emoji(reaction.emoji)
            if name is None or emoji_action(name) is None or reaction.count <= int(reaction.me):
                continue  # not an action, or only the bot's own offer
            async for user in reaction.users():
                if not self._is_me(user.id):
                    present.add((str(user.id), name))
        return present


def invocation(interaction: Interaction) -> Invocation:
    """Who ran a command, and where; in a thread, the thread hangs from a message in its parent."""
    channel = interaction.channel
    user_id = str(interaction.user.id)
    server = server_of(interaction.guild_id)
    if isinstance(channel, discord.Thread) and channel.parent_id is not None:
        return Invocation(
            PLATFORM,
            str(channel.parent_id),
            user_id,
            thread_id=str(channel.id),
            event_key=str(interaction.id),
            workspace=server,
        )
    return Invocation(
        PLATFORM,
        str(interaction.channel_id),
        user_id,
        event_key=str(interaction.id),
        workspace=server,
    )


async def _no_reply(work: Awaitable[None]) -> Reply | None:
    await work
    return None


async def _quietly(work: Awaitable[object], what: str) -> None:
    try:
        await work
    except Exception as exc:
        log.warning("%s failed: %s", what, exc)
