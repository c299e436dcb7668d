"""`GET /users/@me/guilds` of the fake Discord: the servers the bot is in, each with the bot's
permissions there as Discord computes them for this route (the @everyone role and the bot's
roles together, all of them for the owner or an administrator; channel overwrites left out).

The fake has one server; a test takes a permission from the bot by editing its role, e.g.
`fake.roles[1]["permissions"] = str(int(fake.roles[1]["permissions"]) & ~(1 << 6))`, and makes
the bot leave with `fake.bot_in_guild = False`.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tests.fakes.discord_http import json_response

ADMINISTRATOR = 1 << 3
ALL_PERMISSIONS = (1 << 53) - 1


class GuildListRoutesMixin:
    """Mixed into ``FakeDiscord``."""

    # Provided by FakeDiscord.
    bot_user_id: int
    guild_id: int
    guild_name: str
    owner_id: int
    users: dict[int, dict[str, Any]]
    roles: list[dict[str, Any]]
    bot_in_guild: bool = True

    def bot_guild_permissions(self) -> int:
        if self.bot_user_id == self.owner_id:
            return ALL_PERMISSIONS
        mine = {str(self.guild_id), *(str(r) for r in self.users[self.bot_user_id]["roles"])}
        granted = 0
        for role in self.roles:
            if role["id"] in mine:
                granted |= int(role["permissions"])
        return ALL_PERMISSIONS if granted & ADMINISTRATOR else granted

    async def _h_my_guilds(self, request: web.Request) -> web.Response:
        if not self.bot_in_guild:
            return json_response([])
        guild = {
            "id": str(self.guild_id),
            "name": self.guild_name,
            "icon": None,
            "banner": None,
            "owner": self.bot_user_id == self.owner_id,
            "permissions": str(self.bot_guild_permissions()),
            "features": [],
        }
        if request.query.get("with_counts") in ("true", "1"):
            guild["approximate_member_count"] = len(self.users)
            guild["approximate_presence_count"] = 0
        return json_response([guild])
