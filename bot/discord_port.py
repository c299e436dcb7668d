"""The chat port on Discord: posting cards as embeds, threads, reactions, throttled edits.

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
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import discord

from bot import discord_embeds as embeds
from bot import discord_uploads as uploads
from handlers.ports import Card, MessageRef, UserError

log = logging.getLogger(__name__)

PLATFORM = "discord"
THREAD_EXISTS = 160004
THREAD_ARCHIVE_MINUTES: Literal[10080] = 10080
EDIT_INTERVAL_S = 1.0
RETRY_DELAYS_S = (1.0, 5.0)
T = TypeVar("T")


@dataclass
class _EditState:
    latest: Card | None = None
    last: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class DiscordPort:
    """The chat port on Discord: messages, threads, reactions, edits."""

    platform = PLATFORM

    def __init__(self, client: discord.Client) -> None:
        self.client = client
        self._edits: dict[str, _EditState] = {}

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
        """Edit at most once a second per message; edits asked for meanwhile fold into the
        latest card. Returns once this card, or a later one, is on the message."""
        state = self._edits.setdefault(ref.message_id, _EditState())
        state.latest = card
        async with state.lock:
            if state.latest is None:
                return  # an earlier caller already applied this card, or a newer one
            await asyncio.sleep(max(0.0, state.last + EDIT_INTERVAL_S - time.monotonic()))
            latest, state.latest = state.latest, None
            state.last = time.monotonic()
            try:
                await self._apply_edit(ref, latest)
            except Exception:
                state.latest = state.latest or latest
                raise
        self._forget_old_edits()

    async def _apply_edit(self, ref: MessageRef, card: Card) -> None:
        channel = await self.channel(ref.channel_id)
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            raise UserError(f"draftroom cannot edit messages in channel {ref.channel_id}.")
        rendered = embeds.render(card)  # once edited, its delivery is recorded: no marker
        message = channel.get_partial_message(int(ref.message_id))
        await retrying(
            lambda: message.edit(embeds=rendered.embeds, allowed_mentions=embeds.NO_MENTIONS)
        )

    def _forget_old_edits(self) -> None:
        stale = time.monotonic() - 10 * EDIT_INTERVAL_S
        for message_id, state in list(self._edits.items()):
            if state.last < stale and state.latest is None and not state.lock.locked():
                del self._edits[message_id]

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
