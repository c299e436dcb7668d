"""Modals in the fake Slack: users.info, trigger_ids and views.open.

- users.info (needs `users:read`): the users the test declared with `add_user` (`is_admin`,
  `is_owner` as it says) and everyone it made a member of a channel of the calling team; anyone
  else is `user_not_found`.
- trigger_ids: every interaction the fake sends (a button click, a slash command) carries a new
  one. views.open takes it once, within `trigger_lifetime` (3 s, as on Slack) of when it was
  issued: unknown `invalid_trigger_id`, used `exchanged_trigger_id`, late `expired_trigger_id`.
  `age_triggers(seconds)` moves every issued trigger into the past, so a test needs no sleep.
- views.open checks the modal as Slack does: `type: modal`, a plain_text title of at most 24
  characters, a submit button when it has input blocks (submit/close at most 24), at most 100
  blocks, callback_id at most 255 and private_metadata at most 3000 characters, block_ids
  unique, each input block with a plain_text label and an element of a known type whose initial
  values fit it. The view opened is kept per user in `open_views` until it is submitted (see
  `slack_interactions`).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from typing import Any

from tests.fakes.slack_http import ApiError
from tests.fakes.slack_views import MAX_VIEW_BLOCKS, MAX_VIEW_BYTES, view_param

TRIGGER_LIFETIME_S = 3.0
MAX_TITLE = 24  # title, submit and close of a modal
MAX_LABEL, MAX_PLACEHOLDER, MAX_TEXT_INPUT = 2000, 150, 3000
MAX_OPTIONS = {
    "static_select": 100,
    "multi_static_select": 100,
    "radio_buttons": 10,
    "checkboxes": 10,
}
MAX_OPTION_TEXT = 75
TEXT_VALUE_ELEMENTS = ("plain_text_input", "number_input", "email_text_input", "url_text_input")
OPTION_ELEMENTS = ("static_select", "radio_buttons")
ELEMENT_TYPES = {
    *TEXT_VALUE_ELEMENTS,
    *OPTION_ELEMENTS,
    *("checkboxes", "multi_static_select", "users_select", "multi_users_select"),
    *("conversations_select", "multi_conversations_select", "channels_select"),
    *("multi_channels_select", "datepicker", "timepicker", "datetimepicker", "rich_text_input"),
}


def _invalid(message: str) -> ApiError:
    return ApiError("invalid_arguments", response_metadata={"messages": [f"[ERROR] {message}"]})


def _plain(obj: Any, most: int, at: str, *, required: bool = True) -> list[str]:
    if obj is None:
        return [f"missing required field: {at.rsplit('/', 1)[-1]} [json-pointer:{at}]"] * required
    if not isinstance(obj, dict) or obj.get("type") != "plain_text":
        return [f"must be a plain_text text object [json-pointer:{at}]"]
    text = str(obj.get("text") or "")
    if not text:
        return [f"must be more than 0 characters [json-pointer:{at}/text]"]
    if len(text) > most:
        return [f"must be less than {most + 1} characters [json-pointer:{at}/text]"]
    return []


def _element_errors(element: Any, at: str) -> list[str]:
    if not isinstance(element, dict) or element.get("type") not in ELEMENT_TYPES:
        return [f"unsupported type [json-pointer:{at}/type]"]
    kind = element["type"]
    errors: list[str] = []
    if "placeholder" in element:
        errors += _plain(element["placeholder"], MAX_PLACEHOLDER, f"{at}/placeholder")
    if kind == "number_input" and not isinstance(element.get("is_decimal_allowed"), bool):
        errors.append(f"missing required field: is_decimal_allowed [json-pointer:{at}]")
    if kind in TEXT_VALUE_ELEMENTS and "initial_value" in element:
        value = element["initial_value"]
        if not isinstance(value, str) or len(value) > MAX_TEXT_INPUT:
            errors.append(f"must be a string of at most 3000 [json-pointer:{at}/initial_value]")
    if kind == "multi_users_select" and "initial_users" in element:
        users = element["initial_users"]
        if not isinstance(users, list) or not all(isinstance(u, str) and u for u in users):
            errors.append(f"must be an array of user ids [json-pointer:{at}/initial_users]")
    if kind in MAX_OPTIONS:
        options = element.get("options")
        if not isinstance(options, list) or not 1 <= len(options) <= MAX_OPTIONS[kind]:
            errors.append(f"must have 1 to {MAX_OPTIONS[kind]} options [json-pointer:{at}]")
        elif "initial_option" in element and element["initial_option"] not in options:
            errors.append(f"must match one of the options [json-pointer:{at}/initial_option]")
        elif any(o not in options for o in element.get("initial_options", [])):
            errors.append(f"must match the options [json-pointer:{at}/initial_options]")
        else:
            for i, option in enumerate(options):
                text = option.get("text") if isinstance(option, dict) else None
                errors += _plain(text, MAX_OPTION_TEXT, f"{at}/options/{i}/text")
    return errors


def modal_errors(view: dict[str, Any], block_errors: Callable[[list[Any]], list[str]]) -> list[str]:
    """What Slack's views.open says is wrong with a modal (a practical subset)."""
    errors = _plain(view.get("title"), MAX_TITLE, "/view/title")
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        return [*errors, "missing required field: blocks [json-pointer:/view]"]
    if len(blocks) > MAX_VIEW_BLOCKS:
        errors.append(f"no more than {MAX_VIEW_BLOCKS} items allowed [json-pointer:/view/blocks]")
    has_inputs = any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
    errors += _plain(view.get("submit"), MAX_TITLE, "/view/submit", required=has_inputs)
    errors += _plain(view.get("close"), MAX_TITLE, "/view/close", required=False)
    for key, most in (("private_metadata", 3000), ("callback_id", 255)):
        if len(str(view.get(key) or "")) > most:
            errors.append(f"must be less than {most + 1} characters [json-pointer:/view/{key}]")
    errors += block_errors(blocks)  # block_ids unique, each block as in a message
    for i, block in enumerate(blocks):
        if isinstance(block, dict) and block.get("type") == "input":
            at = f"/view/blocks/{i}"
            errors += _plain(block.get("label"), MAX_LABEL, f"{at}/label")
            errors += _plain(block.get("hint"), MAX_LABEL, f"{at}/hint", required=False)
            errors += _element_errors(block.get("element"), f"{at}/element")
    return errors


class ModalMethodsMixin:
    """users.info, trigger_ids and views.open; mixed into FakeSlack."""

    # Provided by FakeSlack.
    app_id: str
    scopes: frozenset[str]
    _calling_team: str  # slack_workspaces
    _channels_of: Callable[[str], dict[str, dict[str, Any]]]
    bot_id_of: Callable[[str | None], str]
    _methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]]
    next_ts: Callable[[], str]
    _view_block_errors: Callable[[list[Any]], list[str]]

    def _setup_modals(self) -> None:
        """Called by FakeSlack.__init__."""
        self.users: dict[str, dict[str, Any]] = {}  # declared with add_user
        self.trigger_lifetime = TRIGGER_LIFETIME_S
        self.open_views: dict[str, dict[str, Any]] = {}  # user -> the modal open for them
        self._triggers: dict[str, list[Any]] = {}  # id -> [issued (monotonic), user, used]
        self._methods["users.info"] = self._users_info
        self._methods["views.open"] = self._views_open

    # ------------------------------------------------------------------ test controls

    def add_user(self, user: str, *, is_admin: bool = False, is_owner: bool = False) -> None:
        """Declare a user of the workspace (or change whether they are an admin or owner)."""
        self.users[user] = {"is_admin": is_admin, "is_owner": is_owner}

    def issue_trigger(self, user: str) -> str:
        trigger = f"{int(time.time())}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"
        self._triggers[trigger] = [time.monotonic(), user, False]
        return trigger

    def age_triggers(self, seconds: float) -> None:
        """Every trigger_id issued so far was issued `seconds` earlier than it was."""
        for record in self._triggers.values():
            record[0] -= seconds

    # ------------------------------------------------------------------ Web API methods

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        if "users:read" not in self.scopes:
            raise ApiError(
                "missing_scope", needed="users:read", provided=",".join(sorted(self.scopes))
            )
        user = params.get("user")
        if not isinstance(user, str) or not user:
            raise ApiError("user_not_found")
        channels = self._channels_of(self._calling_team).values()
        members = {m for info in channels for m in info["members"]}
        if user not in self.users and user not in members:
            raise ApiError("user_not_found")
        flags = self.users.get(user, {"is_admin": False, "is_owner": False})
        return {
            "user": {
                "id": user,
                "team_id": self._calling_team,
                "name": user.lower(),
                "deleted": False,
                "real_name": user.title(),
                "is_admin": flags["is_admin"],
                "is_owner": flags["is_owner"],
                "is_primary_owner": False,
                "is_restricted": False,
                "is_ultra_restricted": False,
                "is_bot": False,
                "is_app_user": False,
                "updated": int(time.time()),
            }
        }

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        view = view_param(params)
        trigger = params.get("trigger_id")
        if not isinstance(trigger, str) or trigger not in self._triggers:
            raise ApiError("invalid_trigger_id")
        issued, user, used = self._triggers[trigger]
        if used:
            raise ApiError("exchanged_trigger_id")
        if time.monotonic() - issued > self.trigger_lifetime:
            raise ApiError("expired_trigger_id")
        if view.get("type") != "modal":
            raise _invalid("must be modal [json-pointer:/view/type]")
        if len(json.dumps(view)) > MAX_VIEW_BYTES:
            raise ApiError("view_too_large")
        errors = modal_errors(view, self._view_block_errors)
        if errors:
            raise ApiError(
                "invalid_arguments",
                response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
            )
        self._triggers[trigger][2] = True
        view_id = f"V{secrets.token_hex(5).upper()}"
        blocks = [dict(b) for b in view["blocks"]]
        for block in blocks:  # Slack names what the app left unnamed
            block.setdefault("block_id", secrets.token_hex(3))
            if block["type"] == "input":
                block["element"] = {"action_id": secrets.token_hex(3), **block["element"]}
        opened = {
            **view,
            "blocks": blocks,
            "id": view_id,
            "team_id": self._calling_team,
            "app_id": self.app_id,
            "app_installed_team_id": self._calling_team,
            "bot_id": self.bot_id_of(self._calling_team),
            "hash": f"{self.next_ts()}.{secrets.token_hex(4)}",
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "state": {"values": {}},
            "root_view_id": view_id,
            "previous_view_id": None,
            "clear_on_close": bool(view.get("clear_on_close")),
            "notify_on_close": bool(view.get("notify_on_close")),
        }
        self.open_views[user] = opened
        return {"view": opened}
