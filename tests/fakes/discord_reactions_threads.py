"""Reactions and threads in the fake Discord: their state and REST routes.

Reactions are kept per message and emoji (``name:id`` for custom emoji); the bot's own reaction
changes send MESSAGE_REACTION_ADD/REMOVE. Threads are created from a message or standalone
(THREAD_CREATE) with Discord's name and auto-archive checks.
"""

from __future__ import annotations

import copy
from typing import Any

from aiohttp import web

from tests.fakes.discord_gateway_protocol import INTENT_GUILDS
from tests.fakes.discord_http import REQUEST_BODY, json_response
from tests.fakes.discord_limits import ApiError, field_error, nest_errors, parse_snowflake
from tests.fakes.discord_messages import FLAG_HAS_THREAD
from tests.fakes.discord_records import iso


class ReactionThreadRoutesMixin:
    """Reaction state, reaction routes and thread routes; mixed into ``FakeDiscord``."""

    def _set_reaction(
        self, channel_id: int, message_id: int, emoji: str, user_id: int, add: bool
    ) -> bool:
        per_message = self._reactions.setdefault(message_id, {})
        key = emoji_key(emoji)
        entry = per_message.setdefault(key, {"emoji": self._partial_emoji(emoji), "users": []})
        if add == (user_id in entry["users"]):
            return False
        if add:
            entry["users"].append(user_id)
        else:
            entry["users"].remove(user_id)
            if not entry["users"]:
                del per_message[key]
        return True

    @staticmethod
    def _partial_emoji(emoji: str) -> dict[str, Any]:
        parts = emoji.strip("<>").split(":")
        if len(parts) >= 2 and parts[-1].isdigit():
            return {"id": parts[-1], "name": parts[-2], "animated": parts[0] == "a"}
        return {"id": None, "name": emoji}

    # -- REST handlers: reactions -------------------------------------------------------------

    async def _h_put_reaction(self, request: web.Request) -> web.Response:
        msg = self._message_from(request)
        emoji = request.match_info["emoji"]
        if not emoji or emoji.isspace():
            raise ApiError(400, 10014, "Unknown Emoji")
        if self._set_reaction(
            int(msg["channel_id"]), int(msg["id"]), emoji, self.bot_user_id, True
        ):
            await self._dispatch_reaction_event(msg, emoji, self.bot_user_id, True)
        return web.Response(status=204)

    async def _h_delete_reaction(self, request: web.Request) -> web.Response:
        msg = self._message_from(request)
        emoji = request.match_info["emoji"]
        raw_user = request.match_info.get("user_id", "@me")
        user_id = self.bot_user_id if raw_user == "@me" else parse_snowflake(raw_user)
        if self._set_reaction(int(msg["channel_id"]), int(msg["id"]), emoji, user_id, False):
            await self._dispatch_reaction_event(msg, emoji, user_id, False)
        return web.Response(status=204)

    async def _h_reaction_users(self, request: web.Request) -> web.Response:
        msg = self._message_from(request)
        query = request.query
        try:
            limit = int(query.get("limit", 25))
        except ValueError:
            limit = 0
        if not 1 <= limit <= 100:
            message = "int value should be less than or equal to 100."
            raise ApiError.invalid_form({"limit": field_error("NUMBER_TYPE_MAX", message)})
        after = parse_snowflake(query.get("after", "0"))
        entry = self._reactions.get(int(msg["id"]), {}).get(emoji_key(request.match_info["emoji"]))
        if entry is None:
            return json_response([])  # Discord returns [] for an emoji nobody used
        users = sorted(u for u in entry["users"] if u > after)[:limit]
        return json_response([self._user_payload(u) for u in users])

    async def _h_clear_reactions(self, request: web.Request) -> web.Response:
        msg = self._message_from(request)
        per_message = self._reactions.get(int(msg["id"]), {})
        emoji = request.match_info.get("emoji")
        if emoji is None:
            per_message.clear()
        else:
            per_message.pop(emoji_key(emoji), None)
        return web.Response(status=204)

    # -- REST handlers: threads ---------------------------------------------------------------

    def _new_thread(self, thread_id: int, parent_id: int, body: dict[str, Any], kind: int):
        name = body.get("name") or ""
        errors: dict[str, Any] = {}
        if not 1 <= len(name) <= 100:
            nest_errors(
                ["name"],
                field_error("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."),
                errors,
            )
        archive = body.get("auto_archive_duration", 1440)
        if archive not in (60, 1440, 4320, 10080):
            nest_errors(
                ["auto_archive_duration"],
                field_error("BASE_TYPE_CHOICES", "Value must be one of {60, 1440, 4320, 10080}."),
                errors,
            )
        if errors:
            raise ApiError.invalid_form(errors)
        now = iso()
        thread = {
            "id": str(thread_id),
            "type": kind,
            "guild_id": self._guild_of(parent_id),
            "parent_id": str(parent_id),
            "owner_id": str(self.bot_user_id),
            "name": name,
            "last_message_id": None,
            "message_count": 0,
            "member_count": 1,
            "rate_limit_per_user": body.get("rate_limit_per_user") or 0,
            "flags": 0,
            "total_message_sent": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": archive,
                "archive_timestamp": now,
                "locked": False,
                "create_timestamp": now,
            },
            "member": {
                "id": str(thread_id),
                "user_id": str(self.bot_user_id),
                "join_timestamp": now,
                "flags": 1,
            },
        }
        if kind == 12:
            thread["thread_metadata"]["invitable"] = bool(body.get("invitable", True))
        self.threads[thread_id] = thread
        return thread

    async def _h_thread_from_message(self, request: web.Request) -> web.Response:
        msg = self._message_from(request)
        parent = self._get_channel(int(msg["channel_id"]))
        if parent["type"] not in (0, 5):
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        mid = int(msg["id"])
        if mid in self.threads:
            raise ApiError(400, 160004, "A thread has already been created for this message")
        thread = self._new_thread(mid, int(parent["id"]), request[REQUEST_BODY], 11)
        msg["flags"] |= FLAG_HAS_THREAD
        event = dict(copy.deepcopy(thread), newly_created=True)
        await self.dispatch_event("THREAD_CREATE", event, intent=INTENT_GUILDS)
        return json_response(thread, 201)

    async def _h_thread_without_message(self, request: web.Request) -> web.Response:
        parent = self._get_channel(parse_snowflake(request.match_info["channel_id"]))
        if parent["type"] not in (0, 5):
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        kind = int(request[REQUEST_BODY].get("type") or 12)
        thread = self._new_thread(self.ids.next(), int(parent["id"]), request[REQUEST_BODY], kind)
        event = dict(copy.deepcopy(thread), newly_created=True)
        await self.dispatch_event("THREAD_CREATE", event, intent=INTENT_GUILDS)
        return json_response(thread, 201)


def emoji_key(emoji: str) -> str:
    parts = emoji.strip("<>").split(":")
    if len(parts) >= 2 and parts[-1].isdigit():
        return parts[-1]
    return emoji
