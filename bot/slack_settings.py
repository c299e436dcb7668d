"""A Slack workspace's draftroom settings: the App Home's Settings section and its modal.

A workspace admin or owner (users.info) sees the settings in force on their Home tab with a
button; the click opens a modal pre-filled with them (views.open, with the click's trigger_id,
which Slack takes once and within 3 s). The submission is checked by the core: the admin check
is made again there (the button proves nothing: anyone can send a view_submission), each wrong
field is named on its own input block, and nothing is written unless all of it is right. Every
answer is given within Slack's 3 s: users.info's answers are kept `ADMIN_TTL_S`, so opening the
tab asks it and the click and the submission that follow read the kept answer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack_blocks import escape, links_text
from bot.slack_port import PLATFORM
from handlers.ports import Link, UserError
from handlers.room import DraftRoom
from handlers.workspace_settings import (
    NOT_AN_ADMIN,
    SettingsForm,
    SettingsFormError,
    WorkspaceSettings,
    settings_card,
)

log = logging.getLogger(__name__)

OPEN_ACTION = "draftroom_settings_open"
CALLBACK_ID = "draftroom_settings"
ADMIN_TTL_S = 60.0
# users.info's share of a submission's 3 s when no answer is kept; the save needs the rest.
ADMIN_LOOKUP_S = 1.5
YES, NO = "yes", "no"
LOOKUP_FAILED = "Slack did not say whether you are an admin of this workspace; try again."
OTHER_WORKSPACE = "This form was opened in another workspace; open Settings here again."
NOT_SAVED = "The settings could not be saved just now; nothing was changed. Try again."

Block = dict[str, Any]
_USER_ID = re.compile(r"\b[UW][A-Z0-9]{2,}\b")


def workspace_of(team_id: str | None) -> str | None:
    """The core's name for the Slack workspace a request came from, whose settings apply."""
    return f"{PLATFORM}:{team_id}" if team_id else None


class SlackAdmins:
    """Whether a person is an admin or owner of their workspace, as users.info says, each
    answer kept `ttl` seconds (a demotion takes effect within that time)."""

    def __init__(self, *, ttl: float = ADMIN_TTL_S) -> None:
        self.ttl = ttl
        self._known: dict[tuple[str | None, str], tuple[float, bool]] = {}

    async def is_admin(self, client: AsyncWebClient, team: str | None, user: str) -> bool:
        """Raises SlackApiError (and the client's errors) when Slack cannot say."""
        kept = self._known.get((team, user))
        if kept is not None and time.monotonic() - kept[0] < self.ttl:
            return kept[1]
        answer = await client.users_info(user=user)
        found = answer.get("user") or {}
        admin = bool(found.get("is_admin") or found.get("is_owner"))
        self._known[(team, user)] = (time.monotonic(), admin)
        return admin

    async def may_see(self, client: AsyncWebClient, team: str | None, user: str) -> bool:
        """For the Home tab: a person Slack cannot answer for sees no Settings section."""
        try:
            return await self.is_admin(client, team, user)
        except Exception as exc:
            log.warning("Slack: users.info for %s failed: %s", user, exc)
            return False


def _mentions(text: str, settings: WorkspaceSettings) -> str:
    """The card's bare user ids as mentions, which Slack shows as the people's names."""
    named = {who.split(":", 1)[1] for who in (*settings.approvers, *settings.editors)}
    return _USER_ID.sub(lambda m: f"<@{m[0]}>" if m[0] in named else m[0], text)


def settings_blocks(settings: WorkspaceSettings, page: Link | None = None) -> list[Block]:
    """The Home tab's Settings section: the settings in force, the link to their web page (when
    links are on) and the button that changes them."""
    card = settings_card(settings)
    text = "\n".join(escape(section.text) for section in card.sections)
    blocks: list[Block] = [
        {"type": "divider"},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"*Settings*\n{_mentions(text, settings)}"},
        },
    ]
    notes = [card.footer] if card.footer else []
    if page is not None:
        notes.append(links_text((page,)))
    if notes:
        text = " · ".join(notes)
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": text}]})
    button = {
        "type": "button",
        "action_id": OPEN_ACTION,
        "text": {"type": "plain_text", "text": "Change settings"},
    }
    blocks.append({"type": "actions", "block_id": "draftroom_settings", "elements": [button]})
    return blocks


def _plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def _input(
    block_id: str, label: str, element: Block, hint: str, *, optional: bool = False
) -> Block:
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": _plain(label),
        "hint": _plain(hint),
        "element": {"action_id": block_id, **element},
    }


def _option(value: str, text: str) -> Block:
    return {"text": _plain(text), "value": value}


def settings_modal(workspace: str, settings: WorkspaceSettings) -> dict[str, Any]:
    """The modal, its input blocks named as SettingsForm's fields, filled in with `settings`."""
    form = settings.form()
    bare = [who.split(":", 1)[1] for who in settings.approvers]
    editors = [who.split(":", 1)[1] for who in settings.editors]
    yes, no = _option(YES, "Yes"), _option(NO, "No")
    budget: Block = {"type": "plain_text_input", "placeholder": _plain("the install's budget")}
    if form.daily_budget_usd:
        budget["initial_value"] = form.daily_budget_usd
    people: Block = {"type": "multi_users_select", "placeholder": _plain("Choose people")}
    blocks = [
        _input(
            "approvers",
            "Approvers",
            {**people, **({"initial_users": bare} if bare else {})},
            "Whose ✅ on a draft counts, and whose ❌ rejects it.",
        ),
        _input(
            "editors",
            "Editors",
            {**people, **({"initial_users": editors} if editors else {})},
            "Who may propose and refine plans besides the approvers; nobody: anyone may.",
            optional=True,
        ),
        _input(
            "approvals_required",
            "Approvals that publish a draft",
            {
                "type": "number_input",
                "is_decimal_allowed": False,
                "initial_value": form.approvals_required,
            },
            "How many approvers' ✅ a draft needs.",
        ),
        _input(
            "allow_self_approval",
            "Authors may approve their own drafts",
            {
                "type": "radio_buttons",
                "options": [yes, no],
                "initial_option": yes if settings.allow_self_approval else no,
            },
            "The proposer and the writers of a draft's notes.",
        ),
        _input(
            "daily_budget_usd",
            "Daily budget (USD)",
            budget,
            "Dollars a day this workspace may spend; empty: the install's budget.",
            optional=True,
        ),
    ]
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "private_metadata": json.dumps({"workspace": workspace}),
        "title": _plain("draftroom settings"),
        "submit": _plain("Save"),
        "close": _plain("Cancel"),
        "blocks": blocks,
    }


def _notice(text: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": _plain("draftroom settings"),
        "close": _plain("Close"),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": escape(text)}}],
    }


def _state(values: object, block_id: str) -> dict[str, Any]:
    """The one element's state of an input block (missing or malformed: empty)."""
    block = values.get(block_id) if isinstance(values, dict) else None
    element = next(iter(block.values()), None) if isinstance(block, dict) and block else None
    return element if isinstance(element, dict) else {}


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def form_of(values: object) -> SettingsForm:
    """`view.state.values` as the core's form: user lists joined by ", ", the rest as text."""

    def users(block_id: str) -> str:
        chosen = _state(values, block_id).get("selected_users")
        return (
            ", ".join(u for u in chosen if isinstance(u, str)) if isinstance(chosen, list) else ""
        )

    option = _state(values, "allow_self_approval").get("selected_option")
    return SettingsForm(
        approvers=users("approvers"),
        editors=users("editors"),
        approvals_required=_text(_state(values, "approvals_required").get("value")),
        allow_self_approval=_text(option.get("value")) if isinstance(option, dict) else "",
        daily_budget_usd=_text(_state(values, "daily_budget_usd").get("value")),
    )


def _said(text: str) -> str:
    return text[:1].upper() + text[1:]


def _ids(body: dict[str, Any]) -> tuple[str | None, str | None]:
    user, team = body.get("user"), body.get("team")
    user_id = user.get("id") if isinstance(user, dict) else None
    team_id = team.get("id") if isinstance(team, dict) else None
    return (
        team_id if isinstance(team_id, str) and team_id else None,
        user_id if isinstance(user_id, str) and user_id else None,
    )


class SlackSettings:
    """bolt's listeners for the Settings button and the modal's submission. `saved` is called
    after a save, so that Home tabs show the new settings."""

    def __init__(self, room: DraftRoom, admins: SlackAdmins, saved: Callable[[], None]) -> None:
        self.room = room
        self.admins = admins
        self.saved = saved

    async def on_open(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        team, user = _ids(body)
        trigger, workspace = body.get("trigger_id"), workspace_of(team)
        if user is None or workspace is None or not isinstance(trigger, str):
            return
        try:
            if await self.admins.is_admin(client, team, user):
                view = settings_modal(workspace, await self.room.workspace_settings(workspace))
            else:
                view = _notice(_said(NOT_AN_ADMIN))
            await client.views_open(trigger_id=trigger, view=view)
        except SlackApiError as exc:
            log.warning("Slack: opening the settings of %s failed: %s", workspace, exc)

    async def on_submit(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        errors = await self._save(body, view, client)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        self.saved()

    async def _save(
        self, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> dict[str, str]:
        """The errors to show by block_id; none when the settings were saved."""
        team, user = _ids(body)
        workspace = workspace_of(team)
        if user is None or workspace is None:
            return {"approvers": _said(NOT_AN_ADMIN)}
        try:
            opened_in = json.loads(_text(view.get("private_metadata")) or "{}").get("workspace")
        except (ValueError, AttributeError):
            opened_in = None
        if opened_in != workspace:
            return {"approvers": OTHER_WORKSPACE}
        try:
            admin = await asyncio.wait_for(self.admins.is_admin(client, team, user), ADMIN_LOOKUP_S)
        except Exception as exc:
            log.warning("Slack: users.info for %s failed: %s", user, exc)
            return {"approvers": LOOKUP_FAILED}
        form = form_of((view.get("state") or {}).get("values"))
        try:
            await self.room.save_workspace_settings(
                workspace, PLATFORM, user, admin=admin, form=form
            )
        except SettingsFormError as exc:
            return {field: _said(error) for field, error in exc.errors.items()}
        except UserError as exc:
            return {"approvers": _said(str(exc))}
        except Exception:
            log.exception("Slack: saving the settings of %s failed", workspace)
            return {"approvers": NOT_SAVED}
        log.info("Slack: %s changed the settings of %s", user, workspace)
        return {}
