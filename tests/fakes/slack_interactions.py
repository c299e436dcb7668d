"""A person using the app's views in the fake Slack: clicking a button on their Home tab and
submitting the modal open for them, sent to the bot as Slack sends interactive payloads.

`click_home_button` finds the button in the home view the user sees (there is nothing to click
if the bot did not show it) and sends a `block_actions` payload with a fresh trigger_id;
`submit_view` fills the open modal's inputs with the values given by block_id (the rest keep
what the modal pre-filled), refuses what Slack's client would not let through (a required field
left empty, a number that is not one), and sends a `view_submission`. Both return the bot's HTTP
status and body. A submission answered with nothing (or `response_action: clear`) closes the
modal; one answered with `response_action: errors` keeps it open, and each error must name an
input block of the view, as Slack requires.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from tests.fakes.slack_modals import OPTION_ELEMENTS, TEXT_VALUE_ELEMENTS
from tests.fakes.slack_signed_senders import SignedSendersMixin

Value = str | list[str] | None


def _button(view: dict[str, Any], action_id: str) -> tuple[str, dict[str, Any]] | None:
    for block in view.get("blocks", []):
        elements = list(block.get("elements") or [])
        if isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
        for element in elements:
            if element.get("type") == "button" and element.get("action_id") == action_id:
                return str(block.get("block_id") or ""), element
    return None


def _state_value(element: dict[str, Any], given: Value, block_id: str) -> dict[str, Any]:
    """`view.state.values[block_id][action_id]` as Slack gives it for this element."""
    kind = element["type"]
    if kind == "multi_users_select":
        users = given if isinstance(given, list) else element.get("initial_users", [])
        return {"type": kind, "selected_users": list(users)}
    if kind == "users_select":
        return {"type": kind, "selected_user": given or element.get("initial_user")}
    if kind in ("multi_static_select", "checkboxes"):  # both submit `selected_options`
        chosen = element.get("initial_options", [])
        if isinstance(given, list):
            by_value = {o.get("value"): o for o in element["options"]}
            if unknown := [v for v in given if v not in by_value]:
                raise ValueError(f"{block_id}: no option has the value {unknown[0]!r}")
            chosen = [by_value[v] for v in given]
        return {"type": kind, "selected_options": list(chosen)}
    if kind == "conversations_select":
        return {"type": kind, "selected_conversation": given or element.get("initial_conversation")}
    if kind in OPTION_ELEMENTS:
        option = element.get("initial_option")
        if given is not None:
            matching = [o for o in element["options"] if o.get("value") == given]
            if not matching:
                raise ValueError(f"{block_id}: no option has the value {given!r}")
            option = matching[0]
        return {"type": kind, "selected_option": option}
    if kind in TEXT_VALUE_ELEMENTS:
        value = element.get("initial_value") if given is None else given
        value = value or None  # an empty field is null
        if kind == "number_input" and value is not None:
            number = r"-?[0-9]+(\.[0-9]+)?" if element.get("is_decimal_allowed") else r"-?[0-9]+"
            if not re.fullmatch(number, str(value)):
                raise ValueError(f"{block_id}: Slack's client does not submit {value!r}")
        return {"type": kind, "value": value}
    raise ValueError(f"{block_id}: the fake cannot fill a {kind}")


def _empty(state: dict[str, Any]) -> bool:
    return not (
        state.get("selected_users")
        or state.get("selected_options")
        or state.get("selected_conversation")
        or state.get("selected_user")
        or state.get("selected_option")
        or state.get("value")
    )


class InteractionsMixin(SignedSendersMixin):
    """Clicking and submitting; part of FakeSlack."""

    # Provided by FakeSlack.
    team_id: str
    app_id: str
    verification_token: str
    home_views: dict[str, dict[str, Any]]
    open_views: dict[str, dict[str, Any]]
    issue_trigger: Callable[[str], str]
    next_ts: Callable[[], str]

    def _user(self, user: str) -> dict[str, Any]:
        return {"id": user, "username": user.lower(), "name": user.lower(), "team_id": self.team_id}

    def home_block_action_payload(self, user: str, action_id: str) -> dict[str, Any]:
        """A click on the button `action_id` of the home view `user` sees."""
        view = self.home_views.get(user)
        found = _button(view, action_id) if view is not None else None
        if view is None or found is None:
            raise LookupError(f"{user} sees no button {action_id!r} on their Home tab")
        block_id, button = found
        action = {
            "type": "button",
            "action_id": action_id,
            "block_id": block_id,
            "text": button["text"],
            "action_ts": self.next_ts(),
        }
        if "value" in button:
            action["value"] = button["value"]
        return {
            "type": "block_actions",
            "user": self._user(user),
            "api_app_id": self.app_id,
            "token": self.verification_token,
            "container": {"type": "view", "view_id": view["id"]},
            "trigger_id": self.issue_trigger(user),
            "team": {"id": self.team_id, "domain": "fake"},
            "enterprise": None,
            "is_enterprise_install": False,
            "view": view,
            "actions": [action],
        }

    async def click_home_button(
        self, bot_url: str, user: str, action_id: str, *, signing_secret: str
    ) -> tuple[int, str]:
        payload = self.home_block_action_payload(user, action_id)
        return await self.send_interactive(bot_url, payload, signing_secret=signing_secret)

    def view_submission_payload(
        self, user: str, view: dict[str, Any], values: Mapping[str, Value] | None = None
    ) -> dict[str, Any]:
        """`user` submits `view` with its inputs set to `values` (by block_id)."""
        values = dict(values or {})
        state: dict[str, dict[str, Any]] = {}
        for block in view["blocks"]:
            if block["type"] != "input":
                continue
            element, block_id = block["element"], block["block_id"]
            value = _state_value(element, values.pop(block_id, None), block_id)
            if _empty(value) and not block.get("optional"):
                raise ValueError(
                    f"{block_id}: Slack's client does not submit a required field empty"
                )
            state[block_id] = {element["action_id"]: value}
        if values:
            raise ValueError(f"the view has no input blocks {sorted(values)}")
        return {
            "type": "view_submission",
            "team": {"id": self.team_id, "domain": "fake"},
            "user": self._user(user),
            "api_app_id": self.app_id,
            "token": self.verification_token,
            "trigger_id": self.issue_trigger(user),
            "view": {**view, "state": {"values": state}},
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }

    async def submit_view(
        self, bot_url: str, user: str, values: Mapping[str, Value], *, signing_secret: str
    ) -> tuple[int, str]:
        """Submit the modal open for `user`; it closes unless the bot answers with errors."""
        view = self.open_views[user]
        payload = self.view_submission_payload(user, view, values)
        status, body = await self.send_interactive(bot_url, payload, signing_secret=signing_secret)
        answer = json.loads(body) if body.strip() else {}
        if status == 200 and answer.get("response_action") == "errors":
            inputs = {b["block_id"] for b in view["blocks"] if b["type"] == "input"}
            unknown = set(answer.get("errors") or {}) - inputs
            if not answer.get("errors") or unknown:
                raise ValueError(f"Slack refuses errors on blocks that are not inputs: {unknown}")
        elif status == 200 and answer.get("response_action") in (None, "clear"):
            self.open_views.pop(user, None)
        return status, body
