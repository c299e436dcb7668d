"""Application commands and interactions in the fake Discord.

``InteractionRoutesMixin`` stores synced commands (with Discord's command checks), answers
interaction callbacks (the 3 s deadline, 40060 when acknowledged twice, 10062 when unknown or
late; a modal is checked and recorded by ``discord_modals``), follow-ups (the first after a
deferred "thinking" response edits it) and the webhook message routes (``@original`` and
follow-ups, valid for the token's 15 minutes).
"""

from __future__ import annotations

import copy
import time
from typing import Any

from aiohttp import web

from tests.fakes.discord_http import REQUEST_BODY, REQUEST_FILES, json_response
from tests.fakes.discord_limits import (
    ApiError,
    field_error,
    nest_errors,
    parse_snowflake,
    permission_bits,
    too_long,
    validate_choices,
    validate_command,
    validate_message,
)
from tests.fakes.discord_messages import FLAG_EPHEMERAL, FLAG_LOADING
from tests.fakes.discord_records import FakeInteraction, InteractionResponse, UploadedFile


class InteractionRoutesMixin:
    """Commands, interaction callbacks, follow-ups and webhooks; mixed into ``FakeDiscord``."""

    def _find_command(self, name: str) -> tuple[dict[str, Any] | None, bool]:
        for scope in (self.guild_id, None):
            for cmd in self.commands.get(scope, []):
                if cmd["name"] == name and cmd.get("type", 1) == 1:
                    return cmd, scope is not None
        return None, False

    def _register_interaction(
        self,
        interaction_id: int,
        token: str,
        kind: int,
        data: dict[str, Any],
        user_id: int,
        payload: dict[str, Any],
    ) -> FakeInteraction:
        record = FakeInteraction(
            interaction_id,
            token,
            kind,
            data,
            user_id,
            int(payload["channel_id"]),
            payload,
            time.monotonic(),
        )
        self.interactions[interaction_id] = record
        self._by_token[token] = record
        return record

    # -- REST handlers: application commands --------------------------------------------------

    def _command_scope(self, request: web.Request) -> int | None:
        if request.match_info["application_id"] != str(self.application_id):
            raise ApiError(403, 50001, "Missing Access")
        if "guild_id" in request.match_info:
            self._check_guild(request)
            return self.guild_id
        return None

    async def _h_get_commands(self, request: web.Request) -> web.Response:
        return json_response(self.commands.get(self._command_scope(request), []))

    async def _h_put_commands(self, request: web.Request) -> web.Response:
        scope = self._command_scope(request)
        body = request[REQUEST_BODY]
        if not isinstance(body, list):
            raise ApiError.invalid_form({"_errors": [{"code": "LIST_TYPE_CONVERT"}]})
        errors: dict[str, Any] = {}
        if len(body) > 100:
            nest_errors([], too_long(100), errors)
        for i, cmd in enumerate(body):
            validate_command(cmd, [str(i)], errors)
        if errors:
            raise ApiError.invalid_form(errors)
        stored = []
        for cmd in body:
            key = (scope, cmd["name"], cmd.get("type", 1))
            cmd_id = self._command_ids.setdefault(key, self.ids.next())
            item = {
                "id": str(cmd_id),
                "application_id": str(self.application_id),
                "version": str(self.ids.next()),
                "type": cmd.get("type", 1),
                "name": cmd["name"],
                "description": cmd.get("description", ""),
                "options": cmd.get("options", []),
                "default_member_permissions": _bits_text(cmd.get("default_member_permissions")),
                "dm_permission": cmd.get("dm_permission", True),
                "nsfw": cmd.get("nsfw", False),
                "contexts": cmd.get("contexts"),
                "integration_types": cmd.get("integration_types", [0]),
            }
            if scope is not None:
                item["guild_id"] = str(scope)
            stored.append(item)
        self.commands[scope] = stored
        self.command_syncs.append((scope, copy.deepcopy(body)))
        return json_response(stored)

    # -- REST handlers: interactions ----------------------------------------------------------

    async def _h_callback(self, request: web.Request) -> web.Response:
        body = request[REQUEST_BODY]
        now = time.monotonic()
        record = self._by_token.get(request.match_info["token"])
        iid = parse_snowflake(request.match_info["interaction_id"])
        kind = body.get("type") if isinstance(body, dict) else None
        data = body.get("data") if isinstance(body, dict) else None
        entry = InteractionResponse(
            iid,
            request.match_info["token"],
            kind,
            data,
            0,
            now,
            now - (record.created if record else now),
        )
        self.interaction_responses.append(entry)
        try:
            response = await self._callback(record, iid, kind, data or {}, request)
        except ApiError as exc:
            entry.status = exc.status
            raise
        entry.status = response.status
        return response

    async def _callback(
        self,
        record: FakeInteraction | None,
        iid: int,
        kind: Any,
        data: dict[str, Any],
        request: web.Request,
    ) -> web.Response:
        if record is None or record.id != iid:
            raise ApiError(404, 10062, "Unknown interaction")
        if record.response_type is not None:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        if time.monotonic() - record.created > self.interaction_deadline:
            raise ApiError(404, 10062, "Unknown interaction")
        # A modal's submission may not be answered with another modal, and may update a
        # message only when the modal was opened from one.
        from_message = "message" in record.payload
        submit = {4, 5, 6, 7} if from_message else {4, 5}
        allowed = {2: {4, 5, 9}, 3: {4, 5, 6, 7, 9}, 4: {8}, 5: submit}[record.type]
        if kind not in allowed:
            error = field_error("INTERACTION_RESPONSE_TYPE_INVALID", "Invalid callback type.")
            raise ApiError.invalid_form({"type": error})
        files = request[REQUEST_FILES]
        flags = int(data.get("flags") or 0)
        resource: dict[str, Any] = {"type": kind}
        message = None
        if kind == 4:
            validate_message(data, files)
            message = await self._interaction_message(record, data, files, flags)
        elif kind == 5:
            loading = {"content": "", "flags": flags | FLAG_LOADING}
            message = await self._interaction_message(record, loading, [], flags)
        elif kind in (6, 7):
            message = self._msgs[int(record.payload["message"]["id"])]
            record.original_message_id = int(message["id"])
            if kind == 7:
                message = await self._edit_message(message, data, files)
        elif kind == 9:
            self._show_modal(record, data)
        elif kind == 8:
            errors: dict[str, Any] = {}
            validate_choices(data.get("choices") or [], ["data", "choices"], errors)
            if errors:
                raise ApiError.invalid_form(errors)
        record.response_type = kind
        record.ephemeral = bool(flags & FLAG_EPHEMERAL)
        if message is not None:
            resource["message"] = self._render(message)
        if request.query.get("with_response") not in ("1", "true", "True"):
            return web.Response(status=204)
        answer: dict[str, Any] = {
            "interaction": {
                "id": str(record.id),
                "type": record.type,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": record.ephemeral,
            },
            "resource": resource,
        }
        if message is not None:
            answer["interaction"]["response_message_id"] = message["id"]
        return json_response(answer)

    async def _interaction_message(
        self,
        record: FakeInteraction,
        body: dict[str, Any],
        files: list[UploadedFile],
        flags: int,
        *,
        followup: bool = False,
    ) -> dict[str, Any]:
        metadata: dict[str, Any] = {
            "id": str(record.id),
            "type": record.type,
            "user": self._user_payload(record.user_id),
            "authorizing_integration_owners": {"0": str(self.guild_id)},
        }
        if record.type == 2:
            metadata["name"] = record.name
            metadata["command_type"] = 1
        if record.type == 3:
            metadata["interacted_message_id"] = record.payload["message"]["id"]
        if record.type == 5 and record.opened_by is not None:
            opened = record.opened_by
            metadata["triggering_interaction_metadata"] = {
                "id": str(opened.id),
                "type": opened.type,
                "user": self._user_payload(opened.user_id),
                "authorizing_integration_owners": {"0": str(self.guild_id)},
            }
        if followup and record.original_message_id is not None:
            metadata["original_response_message_id"] = str(record.original_message_id)
        extra: dict[str, Any] = {
            "type": 20 if record.type == 2 and not followup else 0,
            "webhook_id": str(self.application_id),
            "application_id": str(self.application_id),
            "interaction_metadata": metadata,
        }
        if record.type == 2:
            extra["interaction"] = {
                "id": str(record.id),
                "type": 2,
                "name": record.name,
                "user": self._user_payload(record.user_id),
            }
        body = dict(body, flags=flags | int(body.get("flags") or 0))
        created = await self._create_message(
            record.channel_id,
            self.bot_user_id,
            body,
            files,
            validate=False,
            extra=extra,
            ephemeral=bool(flags & FLAG_EPHEMERAL),
        )
        mid = int(created["id"])
        if followup:
            record.followup_ids.append(mid)
        else:
            record.original_message_id = mid
        return self._msgs[mid]

    def _webhook_record(self, request: web.Request) -> FakeInteraction:
        record = self._by_token.get(request.match_info["token"])
        if record is None or request.match_info["application_id"] != str(self.application_id):
            raise ApiError(404, 10015, "Unknown Webhook")
        if time.monotonic() - record.created > self.interaction_token_ttl:
            raise ApiError(401, 50027, "Invalid Webhook Token")
        if record.response_type is None:
            raise ApiError(404, 10015, "Unknown Webhook")
        return record

    async def _h_followup(self, request: web.Request) -> web.Response:
        record = self._webhook_record(request)
        body, files = request[REQUEST_BODY], request[REQUEST_FILES]
        validate_message(body, files)
        original = self._msgs.get(record.original_message_id or 0)
        deferred_loading = (
            record.response_type == 5
            and not record.followup_edited_loading
            and original is not None
            and original["flags"] & FLAG_LOADING
        )
        if deferred_loading:
            # Discord (deprecated but live): the first follow-up after a deferred
            # "thinking" response edits that message instead of creating a new one.
            record.followup_edited_loading = True
            body = {k: v for k, v in body.items() if k != "flags"}
            message = await self._edit_message(original, body, files)
        else:
            flags = int(body.get("flags") or 0)
            created = await self._interaction_message(record, body, files, flags, followup=True)
            message = self._render(created)
        if request.query.get("wait") in ("true", "1", "True"):
            return json_response(message)
        return web.Response(status=204)

    async def _h_hook_message(self, request: web.Request) -> web.Response:
        record = self._webhook_record(request)
        raw = request.match_info["message_id"]
        mid = record.original_message_id if raw == "@original" else parse_snowflake(raw)
        known = [record.original_message_id, *record.followup_ids]
        if mid is None or mid not in known or mid not in self._msgs:
            raise ApiError(404, 10008, "Unknown Message")
        msg = self._msgs[mid]
        if request.method == "GET":
            return json_response(self._render(msg))
        if request.method == "DELETE":
            await self._delete_message(msg)
            return web.Response(status=204)
        return json_response(
            await self._edit_message(msg, request[REQUEST_BODY], request[REQUEST_FILES])
        )


def _bits_text(value: Any) -> str | None:
    """Discord writes a permission bitfield back as a string, however it was sent."""
    return None if value is None else str(permission_bits(value))
