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
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack_blocks import escape, links_text
from bot.slack_destinations import destination_form_of, destinations_modal
from bot.slack_port import PLATFORM
from bot.slack_settings_forms import (
    approval_channel_of,
    approvals_modal,
    form_of,
    notice,
    personas_form_of,
    personas_modal,
    settings_modal,
    text_of,
)
from bot.slack_teams import Qualify, plain, tenant_of
from handlers.ports import Link, UserError
from handlers.room import DraftRoom
from handlers.workspace_settings import (
    NOT_AN_ADMIN,
    SettingsFormError,
    WorkspaceSettings,
    settings_card,
)

log = logging.getLogger(__name__)

OPEN_ACTION = "draftroom_settings_open"
OPEN_PERSONAS_ACTION = "draftroom_personas_open"
OPEN_APPROVALS_ACTION = "draftroom_approvals_open"
OPEN_DESTINATIONS_ACTION = "draftroom_destinations_open"
ADMIN_TTL_S = 60.0
# users.info's share of a submission's 3 s when no answer is kept; the save needs the rest.
ADMIN_LOOKUP_S = 1.5
LOOKUP_FAILED = "Slack did not say whether you are an admin of this workspace; try again."
OTHER_WORKSPACE = "This form was opened in another workspace; open Settings here again."
NOT_SAVED = "The settings could not be saved just now; nothing was changed. Try again."

Block = dict[str, Any]
# Saves a submitted form: (workspace, user id, admin, view.state.values).
Save = Callable[[str, str, bool, object], Awaitable[None]]
_USER_ID = re.compile(r"\b[UW][A-Z0-9]{2,}\b")
_CHANNEL = re.compile(r"#([CG][A-Z0-9]{2,})\b")


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
    """The card's bare user ids and its channel as mentions, which Slack shows as names."""
    named = {who.split(":", 1)[1] for who in (*settings.approvers, *settings.editors)}
    text = _USER_ID.sub(lambda m: f"<@{m[0]}>" if m[0] in named else m[0], text)
    return _CHANNEL.sub(lambda m: f"<#{m[1]}>", text)


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
    buttons = [
        {
            "type": "button",
            "action_id": action,
            "text": {"type": "plain_text", "text": label},
        }
        for action, label in (
            (OPEN_ACTION, "Change settings"),
            (OPEN_PERSONAS_ACTION, "Choose personas"),
            (OPEN_APPROVALS_ACTION, "Approval channel"),
            (OPEN_DESTINATIONS_ACTION, "Destinations"),
        )
    ]
    blocks.append({"type": "actions", "block_id": "draftroom_settings", "elements": buttons})
    return blocks


def _said(text: str) -> str:
    return text[:1].upper() + text[1:]


def _ids(body: dict[str, Any]) -> tuple[str | None, str | None]:
    user = body.get("user")
    user_id = user.get("id") if isinstance(user, dict) else None
    team_id = tenant_of(body)  # the enterprise, for an org-wide install (bot.slack_teams)
    return (
        team_id if isinstance(team_id, str) and team_id else None,
        user_id if isinstance(user_id, str) and user_id else None,
    )


class SlackSettings:
    """bolt's listeners for the two Settings buttons (the rules, the personas) and their
    modals' submissions. `saved` is called after a save, so that Home tabs show the change."""

    def __init__(
        self,
        room: DraftRoom,
        admins: SlackAdmins,
        saved: Callable[[], None],
        *,
        qualify: Qualify = plain,
    ) -> None:
        self.room = room
        self.admins = admins
        self.saved = saved
        self.qualify = qualify  # how the core names a team's channel (bot.slack_teams)

    async def on_open(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        async def view(workspace: str) -> dict[str, Any]:
            return settings_modal(workspace, await self.room.workspace_settings(workspace))

        await self._open(ack, body, client, view)

    async def on_open_personas(
        self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        async def view(workspace: str) -> dict[str, Any]:
            current = await self.room.workspace_settings(workspace)
            return personas_modal(workspace, current, self.room.persona_choices())

        await self._open(ack, body, client, view)

    async def on_open_approvals(
        self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        async def view(workspace: str) -> dict[str, Any]:
            return approvals_modal(workspace)

        await self._open(ack, body, client, view)

    async def on_submit_approvals(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        async def save(workspace: str, user: str, admin: bool, values: object) -> None:
            picked = approval_channel_of(values)
            team, _ = _ids(body)
            channel = None if picked is None else self.qualify(team, picked)
            await self.room.save_approval_channel(
                workspace, PLATFORM, user, admin=admin, channel=channel
            )

        await self._submit(ack, body, view, client, ("approval_channel", save))

    async def on_open_destinations(
        self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        async def view(workspace: str) -> dict[str, Any]:
            return destinations_modal(workspace, await self.room.workspace_personas(workspace))

        await self._open(ack, body, client, view)

    async def on_submit_destinations(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        async def save(workspace: str, user: str, admin: bool, values: object) -> None:
            form, remove = destination_form_of(values)
            if remove:
                await self.room.remove_workspace_destination(
                    workspace, admin=admin, persona=form.persona, network=form.network
                )
                return
            await self.room.save_workspace_destination(
                workspace, PLATFORM, user, admin=admin, form=form
            )

        await self._submit(ack, body, view, client, ("persona", save))

    async def on_submit(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        async def save(workspace: str, user: str, admin: bool, values: object) -> None:
            form = form_of(values)
            await self.room.save_workspace_settings(
                workspace, PLATFORM, user, admin=admin, form=form
            )

        await self._submit(ack, body, view, client, ("approvers", save))

    async def on_submit_personas(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        async def save(workspace: str, user: str, admin: bool, values: object) -> None:
            form = personas_form_of(values)
            await self.room.save_workspace_personas(
                workspace, PLATFORM, user, admin=admin, form=form
            )

        await self._submit(ack, body, view, client, ("personas", save))

    async def _open(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        client: AsyncWebClient,
        view: Callable[[str], Awaitable[dict[str, Any]]],
    ) -> None:
        await ack()
        team, user = _ids(body)
        trigger, workspace = body.get("trigger_id"), workspace_of(team)
        if user is None or workspace is None or not isinstance(trigger, str):
            return
        try:
            if await self.admins.is_admin(client, team, user):
                shown = await view(workspace)
            else:
                shown = notice(_said(NOT_AN_ADMIN))
            await client.views_open(trigger_id=trigger, view=shown)
        except SlackApiError as exc:
            log.warning("Slack: opening the settings of %s failed: %s", workspace, exc)

    async def _submit(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        view: dict[str, Any],
        client: AsyncWebClient,
        form: tuple[str, Save],
    ) -> None:
        errors = await self._save(body, view, client, *form)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        self.saved()

    async def _save(
        self,
        body: dict[str, Any],
        view: dict[str, Any],
        client: AsyncWebClient,
        first_block: str,
        save: Save,
    ) -> dict[str, str]:
        """The errors to show by block_id (one not of a field: on `first_block`); none when
        the form was saved."""
        team, user = _ids(body)
        workspace = workspace_of(team)
        if user is None or workspace is None:
            return {first_block: _said(NOT_AN_ADMIN)}
        try:
            opened_in = json.loads(text_of(view.get("private_metadata")) or "{}").get("workspace")
        except (ValueError, AttributeError):
            opened_in = None
        if opened_in != workspace:
            return {first_block: OTHER_WORKSPACE}
        try:
            admin = await asyncio.wait_for(self.admins.is_admin(client, team, user), ADMIN_LOOKUP_S)
        except Exception as exc:
            log.warning("Slack: users.info for %s failed: %s", user, exc)
            return {first_block: LOOKUP_FAILED}
        try:
            await save(workspace, user, admin, (view.get("state") or {}).get("values"))
        except SettingsFormError as exc:
            return {field: _said(error) for field, error in exc.errors.items()}
        except UserError as exc:
            return {first_block: _said(str(exc))}
        except Exception:
            log.exception("Slack: saving the settings of %s failed", workspace)
            return {first_block: NOT_SAVED}
        log.info("Slack: %s changed the %s of %s", user, first_block, workspace)
        return {}
