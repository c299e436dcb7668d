"""The App Home pieces of the fake Slack: users.conversations, views.publish and the
`app_home_opened` event.

users.conversations lists the channels of the token's team that its bot is in, or `user` is in:
a private channel of another user only when the bot is in it too, as Slack restricts it; it
needs `channels:read` for public and `groups:read` for private channels. views.publish keeps
each user's home view (only `type: home`, at most 100 blocks, each block checked like a
message's) in `home_views`, by user id alone (not yet per team).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Callable
from typing import Any

from tests.fakes.slack_blocks import block_errors
from tests.fakes.slack_http import ApiError

MAX_VIEW_BLOCKS = 100
MAX_VIEW_BYTES = 250_000
MAX_PRIVATE_METADATA, MAX_CALLBACK_ID = 3000, 255
SCOPE_OF_TYPE = {
    "public_channel": "channels:read",
    "private_channel": "groups:read",
    "mpim": "mpim:read",
    "im": "im:read",
}


def _truthy(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


def _invalid(message: str) -> ApiError:
    return ApiError("invalid_arguments", response_metadata={"messages": [f"[ERROR] {message}"]})


def view_param(params: dict[str, Any]) -> dict[str, Any]:
    """The `view` argument of a views.* method, as Slack reads it (a JSON string or object)."""
    view = params.get("view")
    if isinstance(view, str):
        try:
            view = json.loads(view)
        except ValueError:
            raise _invalid("failed to match all allowed schemas [json-pointer:/view]") from None
    if not isinstance(view, dict):
        raise _invalid("missing required field: view")
    return view


class ViewMethodsMixin:
    """users.conversations, views.publish and the app_home_opened payload; mixed into FakeSlack."""

    # Provided by FakeSlack.
    app_id: str
    scopes: frozenset[str]
    _methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]]
    _calling_team: str  # slack_workspaces
    _channels_of: Callable[[str], dict[str, dict[str, Any]]]
    bot_user_of: Callable[[str | None], str]
    bot_id_of: Callable[[str | None], str]
    event_callback: Callable[..., dict[str, Any]]
    next_ts: Callable[[], str]

    def _setup_views(self) -> None:
        """Called by FakeSlack.__init__: the state and the methods of this mixin."""
        self.home_views: dict[str, dict[str, Any]] = {}  # user -> the view Slack shows them
        self._methods["users.conversations"] = self._users_conversations
        self._methods["views.publish"] = self._views_publish

    # ------------------------------------------------------------------ test controls

    def home_text(self, user: str) -> str:
        """Every text of the home view `user` sees, joined ("" before any was published)."""
        parts: list[str] = []
        for block in self.home_views.get(user, {}).get("blocks", []):
            if isinstance(block.get("text"), dict):
                parts.append(str(block["text"]["text"]))
            parts.extend(str(e.get("text", "")) for e in block.get("elements", []))
        return "\n".join(parts)

    def app_home_opened(
        self, user: str, *, tab: str = "home", team: str | None = None
    ) -> dict[str, Any]:
        """The `app_home_opened` envelope Slack sends when `user` of `team` (the default team)
        opens the app's `tab`; the Home tab's event carries the view published before, if any."""
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user,
            "channel": f"D{user.lstrip('UW')[:9]}",
            "tab": tab,
            "event_ts": self.next_ts(),
        }
        if tab == "home" and user in self.home_views:
            event["view"] = self.home_views[user]
        return self.event_callback(event, team=team)

    # ------------------------------------------------------------------ Web API methods

    def _users_conversations(self, params: dict[str, Any]) -> dict[str, Any]:
        types = [t.strip() for t in str(params.get("types") or "public_channel").split(",")]
        if not all(t in SCOPE_OF_TYPE for t in types):
            raise ApiError("invalid_types")
        needed = sorted({SCOPE_OF_TYPE[t] for t in types} - self.scopes)
        if needed:
            raise ApiError(
                "missing_scope", needed=",".join(needed), provided=",".join(sorted(self.scopes))
            )
        team = self._calling_team
        user = str(params.get("user") or self.bot_user_of(team))
        if user[:1] not in ("U", "W"):
            raise ApiError("user_not_found")
        try:
            limit = int(params.get("limit") or 100)
        except ValueError:
            raise ApiError("invalid_limit") from None
        if not 1 <= limit <= 1000:
            raise ApiError("invalid_limit")
        listed = [
            {
                "id": cid,
                "name": info["name"],
                "is_channel": not info["is_private"],
                "is_group": info["is_private"],
                "is_im": False,
                "is_mpim": False,
                "is_private": info["is_private"],
                "is_archived": bool(info.get("is_archived")),
            }
            for cid, info in self._channels_of(team).items()
            if self._lists(cid, info, user, types, _truthy(params.get("exclude_archived")))
        ]
        offset = self._offset(params.get("cursor"))
        more = offset + limit < len(listed)
        cursor = base64.b64encode(f"user:{offset + limit}".encode()).decode() if more else ""
        return {
            "channels": listed[offset : offset + limit],
            "response_metadata": {"next_cursor": cursor},
        }

    def _lists(
        self, cid: str, info: dict[str, Any], user: str, types: list[str], no_archived: bool
    ) -> bool:
        if cid.startswith("D") or user not in info["members"]:
            return False
        if no_archived and info.get("is_archived"):
            return False
        if info["is_private"]:
            # Non-public channels only where the calling bot shares membership.
            bot = self.bot_user_of(self._calling_team)
            return "private_channel" in types and bot in info["members"]
        return "public_channel" in types

    def _offset(self, cursor: Any) -> int:
        if not cursor:
            return 0
        try:
            kind, _, at = base64.b64decode(str(cursor), validate=True).decode().partition(":")
            if kind == "user" and at.isdigit():
                return int(at)
        except (binascii.Error, UnicodeDecodeError):
            pass
        raise ApiError("invalid_cursor")

    def _views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        user = params.get("user_id")
        if not isinstance(user, str) or not user:
            raise _invalid("missing required field: user_id")
        if user[:1] not in ("U", "W"):
            raise _invalid("invalid `user_id`")
        view = view_param(params)
        if view.get("type") != "home":
            raise _invalid("must be home [json-pointer:/view/type]")
        if len(json.dumps(view)) > MAX_VIEW_BYTES:
            raise ApiError("view_too_large")
        for key, most in (
            ("private_metadata", MAX_PRIVATE_METADATA),
            ("callback_id", MAX_CALLBACK_ID),
        ):
            if len(str(view.get(key) or "")) > most:
                raise _invalid(
                    f"must be less than {most + 1} characters [json-pointer:/view/{key}]"
                )
        blocks = view.get("blocks")
        if not isinstance(blocks, list):
            raise _invalid("missing required field: blocks [json-pointer:/view]")
        if len(blocks) > MAX_VIEW_BLOCKS:
            raise _invalid(
                f"no more than {MAX_VIEW_BLOCKS} items allowed [json-pointer:/view/blocks]"
            )
        errors = self._view_block_errors(blocks)
        if errors:
            messages = [f"[ERROR] {e}" for e in errors]
            raise ApiError(
                "invalid_blocks", errors=errors, response_metadata={"messages": messages}
            )
        hash_given = params.get("hash")
        shown = self.home_views.get(user)
        if hash_given and shown is not None and hash_given != shown["hash"]:
            raise ApiError("hash_conflict")
        published = {
            **view,
            "id": shown["id"] if shown else f"V{secrets.token_hex(5).upper()}",
            "team_id": self._calling_team,
            "app_id": self.app_id,
            "bot_id": self.bot_id_of(self._calling_team),
            "hash": f"{self.next_ts()}.{secrets.token_hex(4)}",
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
        }
        self.home_views[user] = published
        return {"view": published}

    @staticmethod
    def _view_block_errors(blocks: list[Any]) -> list[str]:
        """Each block checked as in a message, its pointer under /view; block_ids unique."""
        errors: list[str] = []
        block_ids: set[Any] = set()
        for i, block in enumerate(blocks):
            for error in block_errors([block]):
                errors.append(
                    error.replace("[json-pointer:/blocks/0", f"[json-pointer:/view/blocks/{i}")
                )
            block_id = block.get("block_id") if isinstance(block, dict) else None
            if block_id is not None:
                if block_id in block_ids:
                    errors.append(f"duplicate block_id [json-pointer:/view/blocks/{i}/block_id]")
                block_ids.add(block_id)
        return errors
