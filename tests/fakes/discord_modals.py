"""Modals in the fake Discord: shown in answer to an interaction, submitted by the test.

``ModalsMixin`` checks a MODAL callback (type 9) as Discord does: a custom_id of 1 to 100
characters, a title of 1 to 45, 1 to 5 action rows each holding exactly one text input (type 4)
whose custom_id has 1 to 100 characters and label 1 to 45, style 1 (short) or 2 (paragraph),
``min_length`` 0..4000, ``max_length`` 1..4000, a ``value`` no longer than ``max_length`` and a
placeholder of at most 100; else 400 50035 Invalid Form Body. Each modal shown is recorded
(``modals``, ``open_modal``) and ``submit_modal`` sends what the person typed back over the
gateway as a MODAL_SUBMIT interaction (type 5) in Discord's shape. The Discord client lets no
one submit a modal with a required field empty or a value of the wrong length, so neither does
``submit_modal`` (ValueError).

Who sees a command: ``default_member_permissions`` (a string bitfield) hides it from members
without all of those permissions unless the server allowed them under Integrations
(``allow_command``); ``dispatch_interaction`` refuses to run such a command for them (they could
not have picked it), as ``check_command_visible`` says.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from tests.fakes.discord_limits import ApiError, field_error, nest_errors, too_long
from tests.fakes.discord_payloads import role_payload

MANAGE_GUILD = 1 << 5
ADMINISTRATOR = 1 << 3
MODAL_TITLE_MAX = 45
CUSTOM_ID_MAX = 100
LABEL_MAX = 45
TEXT_MAX = 4000
PLACEHOLDER_MAX = 100
ROWS_MAX = 5


@dataclass
class ShownModal:
    """A modal as Discord showed it to `user_id`, in answer to interaction `interaction_id`."""

    interaction_id: int
    user_id: int
    channel_id: int
    data: dict[str, Any]
    submitted: bool = False

    @property
    def title(self) -> str:
        return str(self.data["title"])

    @property
    def inputs(self) -> list[dict[str, Any]]:
        return [row["components"][0] for row in self.data["components"]]

    def values(self) -> dict[str, str]:
        """What each field holds before the person types: its pre-filled value."""
        return {i["custom_id"]: i.get("value") or "" for i in self.inputs}


def _bad_length(low: int, high: int) -> dict[str, Any]:
    return field_error("BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length.")


def _text_length(value: Any, low: int, high: int, path: list[str], errors: dict[str, Any]) -> None:
    if not isinstance(value, str) or not low <= len(value) <= high:
        nest_errors(path, _bad_length(low, high), errors)


def validate_modal(data: dict[str, Any]) -> None:
    """Discord's checks of a MODAL callback's data; raises 50035 Invalid Form Body."""
    errors: dict[str, Any] = {}
    _text_length(data.get("custom_id"), 1, CUSTOM_ID_MAX, ["data", "custom_id"], errors)
    _text_length(data.get("title"), 1, MODAL_TITLE_MAX, ["data", "title"], errors)
    rows = data.get("components")
    if not isinstance(rows, list) or not 1 <= len(rows) <= ROWS_MAX:
        nest_errors(["data", "components"], _bad_length(1, ROWS_MAX), errors)
        rows = []
    for i, row in enumerate(rows):
        where = ["data", "components", str(i)]
        inner = row.get("components") if isinstance(row, dict) else None
        if not isinstance(row, dict) or row.get("type") != 1:
            nest_errors([*where, "type"], _one_of(1), errors)
        elif not isinstance(inner, list) or len(inner) != 1:
            nest_errors([*where, "components"], _bad_length(1, 1), errors)
        else:
            _validate_text_input(inner[0], [*where, "components", "0"], errors)
    if errors:
        raise ApiError.invalid_form(errors)


def _validate_text_input(item: Any, path: list[str], errors: dict[str, Any]) -> None:
    if not isinstance(item, dict) or item.get("type") != 4:
        nest_errors([*path, "type"], _one_of(4), errors)
        return
    _text_length(item.get("custom_id"), 1, CUSTOM_ID_MAX, [*path, "custom_id"], errors)
    _text_length(item.get("label"), 1, LABEL_MAX, [*path, "label"], errors)
    if item.get("style") not in (1, 2):
        message = f'Value "{item.get("style")}" is not a valid enum value.'
        error = field_error("ENUM_TYPE_COERCE", message)
        nest_errors([*path, "style"], error, errors)
    low, high = item.get("min_length"), item.get("max_length")
    if low is not None and not (isinstance(low, int) and 0 <= low <= TEXT_MAX):
        nest_errors([*path, "min_length"], _number_range(0, TEXT_MAX), errors)
    if high is not None and not (isinstance(high, int) and 1 <= high <= TEXT_MAX):
        nest_errors([*path, "max_length"], _number_range(1, TEXT_MAX), errors)
    limit = high if isinstance(high, int) and 1 <= high <= TEXT_MAX else TEXT_MAX
    value = item.get("value")
    if value is not None and (not isinstance(value, str) or len(value) > limit):
        nest_errors([*path, "value"], too_long(limit), errors)
    placeholder = item.get("placeholder")
    if placeholder is not None and len(str(placeholder)) > PLACEHOLDER_MAX:
        nest_errors([*path, "placeholder"], too_long(PLACEHOLDER_MAX), errors)


def _one_of(kind: int) -> dict[str, Any]:
    return field_error("UNION_TYPE_CHOICES", f'Value of field "type" must be one of ({kind},).')


def _number_range(low: int, high: int) -> dict[str, Any]:
    return field_error("NUMBER_TYPE_MAX", f"int value should be between {low} and {high}.")


def has_permissions(granted: int, wanted: int) -> bool:
    return bool(granted & ADMINISTRATOR) or granted & wanted == wanted


class ModalsMixin:
    """MODAL callbacks, modal submissions and who may see a command; mixed into FakeDiscord."""

    def _init_modals(self) -> None:
        self.modals: list[ShownModal] = []
        self.command_overrides: dict[str, set[int]] = {}

    # -- test-facing --------------------------------------------------------------------------

    def give_permissions(self, user_id: int, permissions: int, name: str = "Managers") -> int:
        """Give `user_id` a new role holding `permissions` (such as MANAGE_GUILD); returns the
        role's id. Interactions then carry them in `member.permissions`."""
        self._ensure_user(user_id)
        role_id = self.ids.next()
        self.roles.append(role_payload(role_id, name, permissions, len(self.roles)))
        self.users[user_id]["roles"].append(role_id)
        return role_id

    def allow_command(self, name: str, user_id: int) -> None:
        """The server lets `user_id` use command `name` whatever its default permissions
        (Server Settings → Integrations)."""
        self.command_overrides.setdefault(name, set()).add(user_id)

    def open_modal(self, user_id: int | None = None) -> ShownModal | None:
        """The newest modal shown to `user_id` (the approver by default) and not submitted."""
        user_id = self.approver_id if user_id is None else user_id
        shown = [m for m in self.modals if m.user_id == user_id and not m.submitted]
        return shown[-1] if shown else None

    async def submit_modal(
        self, values: dict[str, str], user_id: int | None = None, *, locale: str = "en-US"
    ) -> Any:
        """The person submits their open modal with `values` typed over the pre-filled ones
        (MODAL_SUBMIT, type 5); returns the interaction record."""
        user_id = self.approver_id if user_id is None else user_id
        modal = self.open_modal(user_id)
        if modal is None:
            raise ValueError(f"no modal is open for user {user_id}")
        unknown = set(values) - set(modal.values())
        if unknown:
            raise ValueError(f"the modal has no fields {sorted(unknown)}")
        typed = dict(modal.values(), **values)
        rows = []
        for n, item in enumerate(modal.inputs):
            value = typed[item["custom_id"]]
            _check_typed(item, value)
            text_input = {"type": 4, "id": 2 * n + 2, "custom_id": item["custom_id"]}
            text_input["value"] = value
            rows.append({"type": 1, "id": 2 * n + 1, "components": [text_input]})
        modal.submitted = True
        data = {"custom_id": modal.data["custom_id"], "components": rows}
        triggering = self.interactions.get(modal.interaction_id)
        record = await self._send_interaction(5, data, user_id, modal.channel_id, locale)
        record.opened_by = triggering
        return record

    def check_command_visible(self, command: dict[str, Any] | None, user_id: int) -> None:
        """Discord shows a member only the commands their permissions allow: running another
        is not something a person can do."""
        wanted = command.get("default_member_permissions") if command else None
        if wanted is None or user_id in self.command_overrides.get(command["name"], set()):
            return
        if not has_permissions(self._permissions_of(user_id), int(wanted)):
            raise PermissionError(
                f"Discord does not offer /{command['name']} to user {user_id}: it needs "
                f"permissions {wanted} (allow_command gives it to them)"
            )

    # -- the callback ---------------------------------------------------------------------------

    def _show_modal(self, record: Any, data: dict[str, Any]) -> None:
        validate_modal(data)
        shown = ShownModal(record.id, record.user_id, record.channel_id, copy.deepcopy(data))
        self.modals.append(shown)


def _check_typed(item: dict[str, Any], value: str) -> None:
    name = item["custom_id"]
    if item.get("required", True) and not value:
        raise ValueError(f"Discord does not submit a modal with {name!r} empty: it is required")
    low, high = item.get("min_length") or 0, item.get("max_length") or TEXT_MAX
    if value and not low <= len(value) <= high:
        raise ValueError(f"Discord does not submit {name!r} of {len(value)} characters")
