"""What users do in the fake Discord, delivered as gateway events.

``UserEventsMixin`` is part of ``GatewayMixin`` (``tests/fakes/discord_gateway.py``): each helper
changes the fake's state as Discord would and dispatches what the bot would receive
(MESSAGE_CREATE, MESSAGE_REACTION_ADD/REMOVE, INTERACTION_CREATE for commands, autocomplete and
components).
"""

from __future__ import annotations

import secrets
from typing import Any

from tests.fakes.discord_gateway_protocol import INTENT_GUILD_MESSAGE_REACTIONS


class UserEventsMixin:
    """Messages, reactions and interactions by users; mixed into ``FakeDiscord``."""

    async def dispatch_message(
        self,
        channel_id: int,
        content: str,
        author_id: int,
        message_id: int | None = None,
        *,
        embeds: list[dict[str, Any]] | None = None,
        reply_to: int | None = None,
    ) -> dict[str, Any]:
        """A user posts a message (MESSAGE_CREATE); works in threads created over REST.

        Returns the stored message (as the REST API would return it).
        """
        body: dict[str, Any] = {"content": content, "embeds": embeds or []}
        if reply_to is not None:
            body["message_reference"] = {"message_id": str(reply_to)}
        return await self._create_message(
            channel_id, author_id, body, [], message_id=message_id, validate=False
        )

    async def dispatch_reaction(
        self,
        channel_id: int,
        message_id: int,
        user_id: int,
        emoji: str = "✅",
        add: bool = True,
    ) -> None:
        """A user adds (or removes) a reaction: state changes, then MESSAGE_REACTION_ADD/REMOVE.

        ``emoji`` is a unicode emoji or ``name:id`` for a custom one.
        """
        msg = self._get_message(channel_id, message_id)
        self._ensure_user(user_id)
        changed = self._set_reaction(channel_id, message_id, emoji, user_id, add)
        if changed:
            await self._dispatch_reaction_event(msg, emoji, user_id, add)

    async def _dispatch_reaction_event(
        self, msg: dict[str, Any], emoji: str, user_id: int, add: bool
    ) -> None:
        data: dict[str, Any] = {
            "user_id": str(user_id),
            "type": 0,
            "message_id": msg["id"],
            "channel_id": msg["channel_id"],
            "guild_id": self._guild_of(msg["channel_id"]),
            "emoji": self._partial_emoji(emoji),
            "burst": False,
        }
        if add:
            data["member"] = self._member_payload(user_id)
            data["message_author_id"] = msg["author"]["id"]
            data["burst_colors"] = []
        event = "MESSAGE_REACTION_ADD" if add else "MESSAGE_REACTION_REMOVE"
        await self.dispatch_event(event, data, intent=INTENT_GUILD_MESSAGE_REACTIONS)

    async def dispatch_interaction(
        self,
        name: str,
        options: dict[str, Any] | list[dict[str, Any]] | None = None,
        user_id: int | None = None,
        channel_id: int | None = None,
        *,
        focused: str | None = None,
        locale: str = "en-US",
    ) -> Any:
        """A user runs slash command ``name`` (``"group sub"`` for subcommands).

        ``options`` maps option names to Python values; their Discord types come from the
        synced command schema when the command was synced (``tree.sync``), else from the
        values (str 3, int 4, bool 5, float 10). User/channel/role options (6/7/8) take ids
        and get a ``resolved`` section. Raw option dicts may be passed as a list instead.
        ``focused`` names an option and makes this an autocomplete interaction (type 4).
        Returns a ``FakeInteraction`` (``.id``, ``.token``, ``.payload``, responses ...).
        """
        user_id = self.approver_id if user_id is None else user_id
        channel_id = self.channel_id if channel_id is None else channel_id
        command, guild_scoped = self._find_command(name.split()[0])
        self.check_command_visible(command, user_id)
        data: dict[str, Any] = {
            "id": str(command["id"]) if command else str(self.ids.next()),
            "name": name.split()[0],
            "type": 1,
        }
        if guild_scoped:
            data["guild_id"] = str(self.guild_id)
        schema = command.get("options", []) if command else None
        resolved: dict[str, dict[str, Any]] = {}
        built = self._build_options(name.split()[1:], options, schema, focused, resolved)
        if built:
            data["options"] = built
        if resolved:
            data["resolved"] = resolved
        kind = 4 if focused else 2
        return await self._send_interaction(kind, data, user_id, channel_id, locale)

    async def dispatch_component(
        self,
        channel_id: int,
        message_id: int,
        custom_id: str,
        user_id: int | None = None,
        *,
        component_type: int = 2,
        values: list[str] | None = None,
    ) -> Any:
        """A user clicks a button (or picks select ``values``) on a message (type 3)."""
        msg = self._get_message(channel_id, message_id)
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = values
        user_id = self.approver_id if user_id is None else user_id
        return await self._send_interaction(3, data, user_id, channel_id, "en-US", message=msg)

    async def _send_interaction(
        self,
        kind: int,
        data: dict[str, Any],
        user_id: int,
        channel_id: int,
        locale: str,
        message: dict[str, Any] | None = None,
    ) -> Any:
        self._ensure_user(user_id)
        channel = self._get_channel(channel_id)
        interaction_id = self.ids.next()
        token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48)
        perms = str(self._permissions_of(user_id))
        guild = self._guild_of(channel_id)
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": kind,
            "data": data,
            "guild_id": guild,
            "guild": {"id": guild, "locale": "en-US", "features": []},
            "channel_id": str(channel_id),
            "channel": dict(channel, permissions=perms),
            "member": dict(self._member_payload(user_id), permissions=perms),
            "token": token,
            "version": 1,
            "app_permissions": str(self._permissions_of(self.bot_user_id)),
            "locale": locale,
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": guild},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if message is not None:
            payload["message"] = message
        record = self._register_interaction(interaction_id, token, kind, data, user_id, payload)
        await self.dispatch_event("INTERACTION_CREATE", payload)
        return record

    def _build_options(
        self,
        path: list[str],
        options: dict[str, Any] | list[dict[str, Any]] | None,
        schema: list[dict[str, Any]] | None,
        focused: str | None,
        resolved: dict[str, dict[str, Any]],
    ) -> list[dict[str, Any]]:
        if path:
            sub_schema = None
            if schema is not None:
                match = [o for o in schema if o["name"] == path[0] and o["type"] in (1, 2)]
                if not match:
                    raise ValueError(f"synced command has no subcommand {path[0]!r}")
                sub_schema = match[0].get("options", [])
            kind = 2 if len(path) > 1 else 1
            inner = self._build_options(path[1:], options, sub_schema, focused, resolved)
            return [{"name": path[0], "type": kind, "options": inner}]
        if options is None:
            return []
        if isinstance(options, list):
            return options
        built = []
        for opt_name, value in options.items():
            declared = None
            if schema is not None:
                declared = next((o for o in schema if o["name"] == opt_name), None)
                if declared is None:
                    raise ValueError(f"synced command has no option {opt_name!r}")
            kind = declared["type"] if declared else _infer_option_type(value)
            entry: dict[str, Any] = {"name": opt_name, "type": kind}
            if opt_name == focused:
                entry["focused"] = True
                entry["value"] = str(value)
            else:
                entry["value"] = self._option_value(kind, value, resolved)
            built.append(entry)
        return built

    def _option_value(self, kind: int, value: Any, resolved: dict[str, dict[str, Any]]) -> Any:
        if kind in (6, 9) and int(value) in self.users:
            uid = int(value)
            resolved.setdefault("users", {})[str(uid)] = self._user_payload(uid)
            member = self._member_payload(uid, with_user=False)
            member["permissions"] = str(self._permissions_of(uid))
            resolved.setdefault("members", {})[str(uid)] = member
            return str(uid)
        if kind == 7:
            channel = dict(self._get_channel(int(value)))
            channel["permissions"] = str(self._permissions_of(self.bot_user_id))
            resolved.setdefault("channels", {})[str(value)] = channel
            return str(value)
        if kind in (8, 9):
            role = next((r for r in self.roles if r["id"] == str(value)), None)
            if role is not None:
                resolved.setdefault("roles", {})[str(value)] = role
            return str(value)
        if kind == 11:
            filename, blob = value
            attachment = self._store_attachment(self.channel_id, filename, blob, None, None)
            resolved.setdefault("attachments", {})[attachment["id"]] = attachment
            return attachment["id"]
        return value


def _infer_option_type(value: Any) -> int:
    if isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return 4
    if isinstance(value, float):
        return 10
    return 3
