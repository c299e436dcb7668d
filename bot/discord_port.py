"""The chat port on Discord: posting cards as embeds, threads, reactions, folded edits.

Images over the server's upload limit are reduced for the message, or left out and linked
(`discord_uploads`).

Every message carries a nonce (derived from the idempotency key when there is one) so a POST
that discord.py retries after a 5xx does not create a second message; keyed messages also carry
the key's token in their embed footer, which `find_sent` looks for after a restart.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

import discord

from bot import discord_embeds as embeds
from bot import discord_uploads as uploads
from bot.edits import EditCoalescer
from handlers.ports import Card, MessageRef, UserError

log = logging.getLogger(__name__)

PLATFORM = "discord"
THREAD_EXISTS = 160004
THREAD_ARCHIVE_MINUTES: Literal[10080] = 10080
# Discord's limits are buckets per route and channel, announced in X-RateLimit-* headers, and 50
# requests a second per bot; every 429 also counts toward the 10,000 invalid requests in 10
# minutes that get an IP blocked. The core edits a progress message on every change of its
# run; folded to one edit a second per message, a run costs its channel one request a second
# however fast its steps move, and leaves the bucket to the drafts posted meanwhile.
EDIT_INTERVAL_S = 1.0
RETRY_DELAYS_S = (1.0, 5.0)
JUMP_URL = "https://discord.com/channels"
T = TypeVar("T")


class DiscordPort:
    """The chat port on Discord: messages, threads, reactions, edits."""

    platform = PLATFORM

    def __init__(self, client: discord.Client) -> None:
        self.client = client
        self.edits = EditCoalescer(self._apply_edit, interval=EDIT_INTERVAL_S)

    async def channel(self, channel_id: str | int) -> discord.abc.Messageable:
        found = self.client.get_channel(int(channel_id))
        if found is None:
            found = await self.client.fetch_channel(int(channel_id))
        if not isinstance(found, discord.abc.Messageable):
            raise UserError(f"draftroom cannot post in channel {channel_id}.")
        return found

    async def send(
        self,
        channel_id: str,
        card: Card,
        *,
        thread_id: str | None = None,
        idempotency_key: str | None = None,
        reactions: tuple[str, ...] = (),
    ) -> MessageRef:
        token = embeds.key_token(idempotency_key) if idempotency_key else None
        # A nonce on every message: discord.py retries a POST after a 5xx, and Discord answers a
        # repeated nonce with the message it already created instead of a second one.
        nonce = token or embeds.key_token(secrets.token_hex(16))
        if thread_id is not None:
            target = await self._thread(channel_id, thread_id, card)
        else:
            target = await self.channel(channel_id)
        async with uploads.fitted(card, uploads.upload_limit(target)) as shown:
            rendered = embeds.render(shown, marker=token)
            message = await retrying(
                lambda: target.send(
                    embeds=rendered.embeds,
                    files=rendered.files(),
                    nonce=nonce,
                    allowed_mentions=embeds.NO_MENTIONS,
                )
            )
        for emoji in reactions:
            await _logged(message.add_reaction(emoji), f"reacting {emoji} on {message.id}")
        if thread_id is None and card.opens_thread:
            await _logged(self._open_thread(message, card.title), f"a thread on {message.id}")
        return MessageRef(PLATFORM, channel_id, str(message.id))

    async def _open_thread(
        self, message: discord.Message | discord.PartialMessage, title: str
    ) -> discord.abc.Messageable:
        """The thread hanging from `message` (same id); made now if it does not exist yet."""
        try:
            return await message.create_thread(
                name=embeds.thread_name(title), auto_archive_duration=THREAD_ARCHIVE_MINUTES
            )
        except discord.HTTPException as exc:
            if exc.code != THREAD_EXISTS:
                raise
            return await self.channel(message.id)

    async def _thread(self, channel_id: str, thread_id: str, card: Card) -> discord.abc.Messageable:
        """The thread to answer in; its parent channel when there can be no thread there."""
        cached = self.client.get_channel(int(thread_id))
        if isinstance(cached, discord.Thread):
            return cached
        parent = await self.channel(channel_id)
        if not isinstance(parent, discord.TextChannel):
            return parent
        try:
            return await self._open_thread(parent.get_partial_message(int(thread_id)), card.title)
        except discord.Forbidden as exc:
            log.warning("no thread on %s (%s); answering in the channel", thread_id, exc.text)
            return parent

    async def edit(self, ref: MessageRef, card: Card) -> None:
        """At most one edit a second per message (see EDIT_INTERVAL_S); edits asked for
        meanwhile fold into the latest card. Returns once this card, or a later one, is on."""
        await self.edits.edit((ref.channel_id, ref.message_id), card)

    async def _apply_edit(self, where: tuple[str, str], card: Card) -> None:
        channel_id, message_id = where
        channel = await self.channel(channel_id)
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            raise UserError(f"draftroom cannot edit messages in channel {channel_id}.")
        rendered = embeds.render(card)  # once edited, its delivery is recorded: no marker
        message = channel.get_partial_message(int(message_id))
        await retrying(
            lambda: message.edit(embeds=rendered.embeds, allowed_mentions=embeds.NO_MENTIONS)
        )

    async def find_sent(
        self, channel_id: str, idempotency_key: str, *, thread_id: str | None = None
    ) -> MessageRef | None:
        token = embeds.key_token(idempotency_key)
        # A thread opened from a message has that message's id.
        channel = await self.channel(thread_id or channel_id)
        me = self.client.user
        async for message in channel.history(limit=100):
            if me is not None and message.author.id == me.id and _carries(message, token):
                return MessageRef(PLATFORM, channel_id, str(message.id))
        return None

    async def notify(
        self, channel_id: str, user_id: str, text: str, *, thread_id: str | None = None
    ) -> None:
        """Discord has no ephemeral message outside an interaction: a direct message it is."""
        user = await self.client.fetch_user(int(user_id))
        await user.send(text[:2000], allowed_mentions=embeds.NO_MENTIONS)

    def message_url(self, ref: MessageRef, *, thread_id: str | None = None) -> str | None:
        """The jump URL, with the server from discord.py's cache of the channel (no request);
        a reply in a thread is under the thread's id, as a channel of its own."""
        channel = self.client.get_channel(int(ref.channel_id)) if ref.channel_id.isdigit() else None
        if channel is None:
            return None
        guild = getattr(channel, "guild", None)
        server = "@me" if guild is None else str(guild.id)
        return f"{JUMP_URL}/{server}/{thread_id or ref.channel_id}/{ref.message_id}"


async def retrying(call: Callable[[], Awaitable[T]]) -> T:
    """`call()`, again after a pause when Discord stays overloaded past discord.py's own five
    tries (429s and 5xx) or the connection drops. Sends are safe to repeat: same nonce."""
    for delay in (*RETRY_DELAYS_S, None):
        try:
            return await call()
        except discord.HTTPException as exc:
            if delay is None or not (exc.status == 429 or exc.status >= 500):
                raise
            reason = f"{exc.status} {exc.text[:100]}"
        except (TimeoutError, OSError) as exc:
            if delay is None:
                raise
            reason = repr(exc)
        log.warning("Discord did not take a request (%s); again in %.0f s", reason, delay)
        await asyncio.sleep(delay)
    raise AssertionError("unreachable: the last attempt returns or raises")


def _carries(message: discord.Message, token: str) -> bool:
    footers = (embed.footer.text or "" for embed in message.embeds)
    return message.nonce == token or any(f.endswith(token) for f in footers)


async def _logged(work: Awaitable[Any], what: str) -> None:
    """Extras after a message is posted: a failure is logged, the message still counts."""
    try:
        await work
    except Exception as exc:
        log.warning("%s failed: %s", what, exc)
