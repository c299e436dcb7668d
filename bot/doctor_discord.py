"""Discord checks over REST, all free reads: `GET /users/@me` (the token), `GET
/applications/@me` (its flags say whether the Message Content intent is on), and `GET
/users/@me/guilds` (each guild's permissions for the bot, against the invite's set)."""

from __future__ import annotations

from typing import Any

import discord
import httpx

from bot.discord_invite import PERMISSIONS
from bot.doctor_check import Check, ok, problem, unreachable
from bot.settings import Settings

# Application flags: the intent switched on (verified apps) or on while under 100 servers.
GATEWAY_MESSAGE_CONTENT = 1 << 18
GATEWAY_MESSAGE_CONTENT_LIMITED = 1 << 19
REINVITE = (
    "open the URL from `draftroom discord-invite` to grant them, or give them to the bot's role "
    "under Server Settings → Roles."
)


class _Rest:
    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        assert settings.discord_bot_token is not None
        token = settings.discord_bot_token.get_secret_value().removeprefix("Bot ")
        self.base = settings.discord_api_url.rstrip("/")
        self.headers = {"Authorization": f"Bot {token}"}
        self.http = http

    async def get(self, path: str) -> tuple[int, Any]:
        response = await self.http.get(self.base + path, headers=self.headers, timeout=15)
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, None


async def discord_checks(settings: Settings, http: httpx.AsyncClient) -> list[Check]:
    rest = _Rest(settings, http)
    try:
        status, me = await rest.get("/users/@me")
        if status != 200 or not isinstance(me, dict):
            return [
                problem(
                    "discord token",
                    f"Discord refused DISCORD_BOT_TOKEN (HTTP {status}).",
                    "reset the token under Bot in the developer portal and copy it into "
                    "DISCORD_BOT_TOKEN.",
                )
            ]
        checks = [ok("discord token", f"authenticates as {me.get('username')}.")]
        checks.append(_intent(*await rest.get("/applications/@me")))
        checks += _guilds(settings, *await rest.get("/users/@me/guilds"))
    except httpx.HTTPError as exc:
        return [unreachable("discord", "Discord's API", exc, "DISCORD_API_URL")]
    return checks


def _intent(status: int, app: Any) -> Check:
    name = "discord message content intent"
    if status != 200 or not isinstance(app, dict):
        return problem(name, f"the application could not be read (HTTP {status}).", "try again.")
    flags = int(app.get("flags") or 0)
    if flags & (GATEWAY_MESSAGE_CONTENT | GATEWAY_MESSAGE_CONTENT_LIMITED):
        return ok(name, "enabled.")
    return problem(
        name,
        "off: replies in plan and draft threads arrive empty and cannot refine anything.",
        "enable Message Content under Bot → Privileged Gateway Intents in the developer portal.",
    )


def _guilds(settings: Settings, status: int, guilds: Any) -> list[Check]:
    if status != 200 or not isinstance(guilds, list):
        return [problem("discord servers", f"not readable (HTTP {status}).", "try again.")]
    if not guilds:
        return [
            problem(
                "discord servers",
                "the bot is in no server.",
                "open the URL from `draftroom discord-invite` to add it to yours.",
            )
        ]
    checks = []
    for guild in guilds:
        granted = discord.Permissions(int(guild.get("permissions") or 0))
        name = f"discord server {guild.get('name')} ({guild.get('id')})"
        missing = [] if granted.administrator else _missing(PERMISSIONS, granted)
        if missing:
            checks.append(problem(name, f"the bot lacks {', '.join(missing)}.", REINVITE))
        else:
            checks.append(ok(name, "the bot has every permission the invite asks for."))
    wanted = settings.discord_guild_id
    if wanted is not None:
        ids = {str(g.get("id")) for g in guilds}
        if str(wanted) in ids:
            checks.append(
                ok("discord guild id", f"DISCORD_GUILD_ID {wanted} is a server of the bot.")
            )
        else:
            checks.append(
                problem(
                    "discord guild id",
                    f"DISCORD_GUILD_ID {wanted} is not a server the bot is in.",
                    "set it to one of "
                    + ", ".join(sorted(ids))
                    + ", or add the bot there with `draftroom discord-invite`.",
                )
            )
    return checks


def _missing(wanted: discord.Permissions, granted: discord.Permissions) -> list[str]:
    return [name for name, value in discord.Permissions(wanted.value & ~granted.value) if value]
