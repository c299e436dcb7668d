"""Read-only REST routes of the fake Discord: users, application, gateway and guild lookups."""

from __future__ import annotations

import secrets

from aiohttp import web

from tests.fakes.discord_http import REQUEST_BODY, json_response
from tests.fakes.discord_limits import ApiError, parse_snowflake
from tests.fakes.discord_payloads import is_archived


class LookupRoutesMixin:
    """Users, application info, gateway URL and guild routes; mixed into ``FakeDiscord``."""

    def _check_guild(self, request: web.Request) -> None:
        if request.match_info["guild_id"] != str(self.guild_id):
            raise ApiError(404, 10004, "Unknown Guild")

    # -- REST handlers: users, application, gateway -------------------------------------------

    async def _h_me(self, request: web.Request) -> web.Response:
        return json_response(self._user_payload(self.bot_user_id, full=True))

    async def _h_user(self, request: web.Request) -> web.Response:
        user_id = parse_snowflake(request.match_info["user_id"])
        if user_id not in self.users:
            raise ApiError(404, 10013, "Unknown User")
        return json_response(self._user_payload(user_id))

    async def _h_open_dm(self, request: web.Request) -> web.Response:
        """POST /users/@me/channels: the DM channel with a user, made on first use."""
        body = request[REQUEST_BODY]
        user_id = parse_snowflake(str((body or {}).get("recipient_id", "")))
        if user_id not in self.users:
            raise ApiError(400, 50035, "Invalid Form Body")
        channel_id = self.dm_channel_of(user_id)
        if channel_id is None:
            channel_id = self.ids.next()
            self.channels[channel_id] = {
                "id": str(channel_id),
                "type": 1,
                "last_message_id": None,
                "recipients": [self._user_payload(user_id)],
                "flags": 0,
            }
        return json_response(self.channels[channel_id])

    def dm_channel_of(self, user_id: int) -> int | None:
        for channel_id, channel in self.channels.items():
            recipients = channel.get("recipients") or []
            if channel["type"] == 1 and any(r["id"] == str(user_id) for r in recipients):
                return int(channel_id)
        return None

    async def _h_application(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "id": str(self.application_id),
                "name": self.users[self.bot_user_id]["username"],
                "icon": None,
                "description": "",
                "summary": "",
                "type": None,
                "bot_public": False,
                "bot_require_code_grant": False,
                "verify_key": secrets.token_hex(32),
                "owner": self._user_payload(self.owner_id),
                "team": None,
                "flags": self._application_flags(),
                "bot": self._user_payload(self.bot_user_id),
                "approximate_guild_count": 1,
                "interactions_endpoint_url": None,
                "role_connections_verification_url": None,
                "redirect_uris": [],
                "tags": [],
                "integration_types_config": {"0": {}},
            }
        )

    async def _h_gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": self.gateway_url})

    async def _h_gateway_bot(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 1000 - self.identify_count}
        limit.update(reset_after=86400000, max_concurrency=1)
        return json_response({"url": self.gateway_url, "shards": 1, "session_start_limit": limit})

    # -- REST handlers: guild -----------------------------------------------------------------

    async def _h_guild(self, request: web.Request) -> web.Response:
        self._check_guild(request)
        payload = self._guild_payload()
        if request.query.get("with_counts") in ("true", "1"):
            payload["approximate_member_count"] = len(self.users)
            payload["approximate_presence_count"] = 0
        return json_response(payload)

    async def _h_guild_channels(self, request: web.Request) -> web.Response:
        self._check_guild(request)
        return json_response(list(self.channels.values()))

    async def _h_guild_roles(self, request: web.Request) -> web.Response:
        self._check_guild(request)
        return json_response(self.roles)

    async def _h_guild_members(self, request: web.Request) -> web.Response:
        self._check_guild(request)
        if "members" not in self.privileged_intents:
            raise ApiError(403, 50001, "Missing Access")
        limit = int(request.query.get("limit", 1))
        after = int(request.query.get("after", 0))
        ids = sorted(u for u in self.users if u > after)[:limit]
        return json_response([self._member_payload(u) for u in ids])

    async def _h_guild_member(self, request: web.Request) -> web.Response:
        self._check_guild(request)
        user_id = parse_snowflake(request.match_info["user_id"])
        if user_id not in self.users:
            raise ApiError(404, 10007, "Unknown Member")
        return json_response(self._member_payload(user_id))

    async def _h_active_threads(self, request: web.Request) -> web.Response:
        self._check_guild(request)
        threads = [t for t in self.threads.values() if not is_archived(t)]
        members = [dict(t["member"]) for t in threads]
        return json_response({"threads": threads, "members": members})
