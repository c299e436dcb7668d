"""`draftroom doctor [--webhook]`: check every configured part of a set-up, one line per check,
with the fix in a sentence; exit status 1 when any check is a problem.

It reads the same settings as `run` and spends nothing: providers are asked only what is free
(authenticating, listing models), never for a completion or an image. The webhook is called only
with `--webhook`. The same checks, shortened, answer `/help setup` for an approver.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import httpx

from bot.doctor_check import Check
from bot.doctor_discord import discord_checks
from bot.doctor_local import local_checks
from bot.doctor_networks import network_checks
from bot.doctor_providers import fal_checks, text_checks
from bot.doctor_slack import slack_checks
from bot.doctor_slack_oauth import oauth_checks
from bot.doctor_webhook import webhook_checks
from bot.settings import Settings


async def run_checks(
    settings: Settings, *, webhook: bool = False, in_the_bot: bool = False
) -> list[Check]:
    """Every check, in a fixed order: local, Slack, Discord, the social networks, text model,
    fal, webhook."""
    checks, state = await local_checks(settings, in_the_bot=in_the_bot)
    channels = state.recent_channels.get("slack", []) if state else []
    async with httpx.AsyncClient(follow_redirects=False) as http:
        sections: list[Awaitable[list[Check]]] = []
        if settings.slack_bot_token is not None:
            sections.append(slack_checks(settings, http, channels))
        elif settings.slack_oauth:
            sections.append(oauth_checks(settings, http))
        if settings.discord_enabled:
            sections.append(discord_checks(settings, http))
        sections += [
            network_checks(settings, http, in_the_bot=in_the_bot),
            text_checks(settings, http),
            fal_checks(settings, http),
            webhook_checks(settings, http, call=webhook),
        ]
        for found in await asyncio.gather(*sections):
            checks += found
    return checks


def summary(checks: list[Check]) -> str:
    problems = sum(c.level == "problem" for c in checks)
    warnings = sum(c.level == "warning" for c in checks)
    if not problems and not warnings:
        return f"All {len(checks)} checks ok."
    return f"{problems} problem(s), {warnings} warning(s) in {len(checks)} checks."


def doctor(settings: Settings, *, webhook: bool) -> int:
    """Print one line per check and a summary; the exit status (0 unless a problem)."""
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request is noise here
    checks = asyncio.run(run_checks(settings, webhook=webhook))
    for check in checks:
        print(check.line())
    print(summary(checks))
    return 1 if any(c.level == "problem" for c in checks) else 0


def setup_report(settings: Settings) -> Callable[[], Awaitable[list[str]]]:
    """For `/help setup`: what is not ok, one line each, then the summary (never the webhook
    call, which only `doctor --webhook` makes)."""

    async def report() -> list[str]:
        checks = await run_checks(settings, in_the_bot=True)
        return [c.line() for c in checks if c.level != "ok"] + [summary(checks)]

    return report
