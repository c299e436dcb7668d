"""How the fake Discord's objects look on the wire: users, members, roles, guild, messages.

``PayloadBuildersMixin`` turns the fake's state into Discord's JSON (as REST answers and gateway
events carry it) and looks channels and messages up (10003 / 10008 when unknown).
"""

from __future__ import annotations

import copy
from typing import Any

from tests.fakes.discord_limits import ApiError

# Permission bits used to build roles.
_P = {
    "add_reactions": 1 << 6,
    "view_channel": 1 << 10,
    "send_messages": 1 << 11,
    "manage_messages": 1 << 13,
    "embed_links": 1 << 14,
    "attach_files": 1 << 15,
    "read_message_history": 1 << 16,
    "use_external_emojis": 1 << 18,
    "use_application_commands": 1 << 31,
    "manage_threads": 1 << 34,
    "create_public_threads": 1 << 35,
    "send_messages_in_threads": 1 << 38,
}
EVERYONE_PERMISSIONS = sum(
    v for k, v in _P.items() if k not in ("manage_messages", "manage_threads")
)
BOT_PERMISSIONS = sum(_P.values())


class PayloadBuildersMixin:
    """Discord JSON for the fake's state; mixed into ``FakeDiscord``."""

    def _ensure_user(self, user_id: int) -> None:
        if user_id not in self.users:
            self.add_user(user_id, f"user{user_id}")

    def _user_payload(self, user_id: int, *, full: bool = False) -> dict[str, Any]:
        user = self.users[user_id]
        payload: dict[str, Any] = {
            "id": str(user_id),
            "username": user["username"],
            "discriminator": "0",
            "global_name": None if user["bot"] else user["username"].title(),
            "avatar": None,
            "avatar_decoration_data": None,
            "banner": None,
            "accent_color": None,
            "public_flags": 0,
        }
        if user["bot"]:
            payload["bot"] = True
        if full:
            payload.update(flags=0, mfa_enabled=False, verified=True, email=None, locale="en-US")
        return payload

    def _member_payload(self, user_id: int, *, with_user: bool = True) -> dict[str, Any]:
        user = self.users[user_id]
        member: dict[str, Any] = {
            "nick": None,
            "avatar": None,
            "banner": None,
            "roles": [str(r) for r in user["roles"]],
            "joined_at": user["joined_at"],
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        if with_user:
            member["user"] = self._user_payload(user_id)
        return member

    def _permissions_of(self, user_id: int) -> int:
        if user_id == self.owner_id:
            return (1 << 50) - 1
        role_ids = {str(self.guild_id)} | {str(r) for r in self.users[user_id]["roles"]}
        perms = 0
        for role in self.roles:
            if role["id"] in role_ids:
                perms |= int(role["permissions"])
        return perms

    def _application_flags(self) -> int:
        flags = 1 << 23  # APPLICATION_COMMAND_BADGE
        limited = {"presences": 1 << 13, "members": 1 << 15, "message_content": 1 << 19}
        for name, bit in limited.items():
            if name in self.privileged_intents:
                flags |= bit
        return flags

    def _guild_of(self, channel_id: int | str) -> str:
        """The id of the server a channel or thread is in (a test's own channel without one is
        in the first server)."""
        return str(self._get_channel(int(channel_id)).get("guild_id") or self.guild_id)

    def _guild_payload(self, guild_id: int | None = None) -> dict[str, Any]:
        guild_id = self.guild_id if guild_id is None else guild_id
        roles = copy.deepcopy(self.roles)
        for role in roles:
            if role["id"] == str(self.guild_id):
                role["id"] = str(guild_id)  # @everyone's id is its server's
        return {
            "id": str(guild_id),
            "name": self.extra_guilds.get(guild_id, self.guild_name),
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "roles": roles,
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "premium_tier": self.premium_tier,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
            "max_members": 25000000,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
        }

    def _guild_create_payload(self, guild_id: int | None = None) -> dict[str, Any]:
        payload = self._guild_payload(guild_id)
        here = payload["id"]
        payload.update(
            joined_at=self.users[self.bot_user_id]["joined_at"],
            large=False,
            unavailable=False,
            member_count=len(self.users),
            voice_states=[],
            members=[self._member_payload(uid) for uid in self.users],
            channels=[copy.deepcopy(c) for c in self.channels.values() if c["guild_id"] == here],
            threads=[
                copy.deepcopy(t)
                for t in self.threads.values()
                if not is_archived(t) and t["guild_id"] == here
            ],
            presences=[],
            stage_instances=[],
            guild_scheduled_events=[],
            soundboard_sounds=[],
        )
        return payload

    def _members_chunk(self, d: dict[str, Any]) -> dict[str, Any]:
        query = (d.get("query") or "").lower()
        wanted = d.get("user_ids")
        if wanted is not None:
            ids = [int(u) for u in (wanted if isinstance(wanted, list) else [wanted])]
            found = [u for u in ids if u in self.users]
            not_found = [str(u) for u in ids if u not in self.users]
        else:
            found = [u for u in self.users if self.users[u]["username"].startswith(query)]
            not_found = []
        limit = d.get("limit") or len(found)
        chunk: dict[str, Any] = {
            "guild_id": str(self.guild_id),
            "members": [self._member_payload(u) for u in found[:limit]],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": not_found,
        }
        if d.get("nonce") is not None:
            chunk["nonce"] = d["nonce"]
        if d.get("presences"):
            chunk["presences"] = []
        return chunk

    def _get_channel(self, channel_id: int) -> dict[str, Any]:
        channel = self.channels.get(channel_id) or self.threads.get(channel_id)
        if channel is None:
            raise ApiError(404, 10003, "Unknown Channel")
        return channel

    def _get_message(self, channel_id: int, message_id: int) -> dict[str, Any]:
        self._get_channel(channel_id)
        msg = self._msgs.get(message_id)
        if msg is None or msg["channel_id"] != str(channel_id):
            raise ApiError(404, 10008, "Unknown Message")
        return msg

    def _render(self, msg: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(msg)
        mid = int(msg["id"])
        reactions = []
        for entry in self._reactions.get(mid, {}).values():
            if not entry["users"]:
                continue
            reactions.append(
                {
                    "emoji": dict(entry["emoji"]),
                    "count": len(entry["users"]),
                    "count_details": {"burst": 0, "normal": len(entry["users"])},
                    "burst_colors": [],
                    "me_burst": False,
                    "burst_me": False,
                    "me": self.bot_user_id in entry["users"],
                    "burst_count": 0,
                }
            )
        if reactions:
            out["reactions"] = reactions
        if mid in self.threads:
            out["thread"] = copy.deepcopy(self.threads[mid])
        return out

    def _event_message(self, msg: dict[str, Any]) -> dict[str, Any]:
        out = self._render(msg)
        out["guild_id"] = self._guild_of(msg["channel_id"])
        author = int(msg["author"]["id"])
        if author in self.users and msg.get("webhook_id") is None:
            out["member"] = self._member_payload(author, with_user=False)
        for mention in out.get("mentions", []):
            mention["member"] = self._member_payload(int(mention["id"]), with_user=False)
        return out


def role_payload(role_id: int, name: str, perms: int, position: int, managed: bool = False):
    return {
        "id": str(role_id),
        "name": name,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "icon": None,
        "unicode_emoji": None,
        "position": position,
        "permissions": str(perms),
        "managed": managed,
        "mentionable": False,
        "flags": 0,
    }


def is_archived(thread: dict[str, Any]) -> bool:
    return bool(thread["thread_metadata"]["archived"])
