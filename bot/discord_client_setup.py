"""What the adapter does to discord.py itself, through attributes that are not public API
(which is why pyproject pins discord.py): point it at a Discord, and keep one unreadable gateway
event from ending the connection."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import discord
import yarl

from bot.settings import Settings
from handlers.room import DraftRoom

log = logging.getLogger(__name__)


def point_discord_py_at(settings: Settings) -> None:
    """Send discord.py's REST calls and gateway connection where the settings say.

    discord.py has no public option for either: every request builds its URL from the class
    attribute `Route.BASE`, and a plain `Client` connects to `DiscordWebSocket.DEFAULT_GATEWAY`.
    Both are set here, which is why pyproject pins discord.py to the version this is tested with.
    """
    discord.http.Route.BASE = settings.discord_api_url.rstrip("/")
    if settings.discord_gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


def guard_parsers(parsers: dict[str, Callable[[Any], None]]) -> None:
    """discord.py reads gateway events on the connection's own task, and an event it cannot read
    (a field missing or of another type) would end that task, and the bot with it, for good.
    Every parser but READY's (a bad start should fail the start) drops such an event instead."""
    for event, parse in list(parsers.items()):
        if event != "READY":
            parsers[event] = _dropping_unreadable(event, parse)


def _dropping_unreadable(event: str, parse: Callable[[Any], None]) -> Callable[[Any], None]:
    def parse_or_drop(data: Any) -> None:
        try:
            parse(data)
        except Exception as exc:
            log.warning("discord: dropped a %s event it could not read (%r)", event, exc)

    return parse_or_drop


CRASH_WINDOW_S = 300.0


def crash_loop_delay(recent_starts: int) -> float:
    """How long to wait before logging in, given how many starts the last five minutes saw.

    A process that keeps crashing and being restarted would IDENTIFY on every start; Discord
    resets the token after 1000 a day. Two quick restarts are normal (a deploy, a fix); from the
    third on, each waits twice as long as the one before, up to five minutes."""
    if recent_starts < 3:
        return 0.0
    return float(min(CRASH_WINDOW_S, 5 * 2 ** (recent_starts - 3)))


async def back_off_if_crash_looping(room: DraftRoom) -> None:
    """Record this start; if the process is crash-looping, wait before logging in."""
    recent = await room.record_start("discord", window_s=CRASH_WINDOW_S)
    delay = crash_loop_delay(recent)
    if delay:
        log.warning(
            "Discord: %d starts in 5 minutes; waiting %.0fs before logging in", recent, delay
        )
        await asyncio.sleep(delay)
