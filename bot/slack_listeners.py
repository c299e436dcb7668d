"""What each Slack request becomes in the room: slash commands, reactions and thread replies.

Each listener acknowledges at once (bolt does it for events) and hands the work to the
adapter's background, so nothing slow happens before the ack. Redeliveries are passed on: the
room deduplicates on `(team_id, event_id)`, persisted across restarts. The same listeners serve
HTTP and Socket Mode.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext

from bot.background import Background
from bot.outcomes import outcome
from bot.slack_destinations import DESTINATIONS_CALLBACK_ID
from bot.slack_home import SlackHome
from bot.slack_port import PLATFORM, Asker, SlackPort, platform_refusal
from bot.slack_settings import (
    OPEN_ACTION,
    OPEN_APPROVALS_ACTION,
    OPEN_DESTINATIONS_ACTION,
    OPEN_PERSONAS_ACTION,
    SlackSettings,
    workspace_of,
)
from bot.slack_settings_forms import APPROVALS_CALLBACK_ID, CALLBACK_ID, PERSONAS_CALLBACK_ID
from bot.slack_teams import Qualify, plain, tenant_of
from handlers.commands import USAGE
from handlers.ports import (
    Card,
    Invocation,
    ReactionEvent,
    Reply,
    Section,
    ThreadMessage,
    emoji_action,
)
from handlers.room import DraftRoom

log = logging.getLogger(__name__)

COMMANDS = tuple(f"/{name}" for name in USAGE)
# A reply with "also send to channel" is still a reply in its thread.
THREAD_REPLY_SUBTYPES = (None, "thread_broadcast")


class SlackListeners:
    def __init__(
        self,
        room: DraftRoom,
        port: SlackPort,
        background: Background,
        *,
        qualify: Qualify = plain,
    ) -> None:
        self.room = room
        self.port = port
        self.background = background
        self.qualify = qualify  # how the core names a team's channel (bot.slack_teams)

    async def on_command(self, ack: AsyncAck, command: dict[str, Any]) -> None:
        await ack()
        channel, user = _string(command, "channel_id"), _string(command, "user_id")
        if channel is None or user is None:
            return  # nobody to answer, and nowhere to
        channel = self.qualify(tenant_of(command), channel)
        asker = Asker(channel, user, response_url=_string(command, "response_url"))
        # trigger_id is unique to one invocation: a replayed request carries the same one.
        inv = Invocation(
            PLATFORM,
            channel,
            user,
            event_key=_string(command, "trigger_id"),
            workspace=workspace_of(tenant_of(command)),
        )
        name, text = str(command.get("command", "")).lstrip("/"), _string(command, "text") or ""
        self.background.spawn(self._answer(asker, self.room.command(inv, name, text)))

    async def on_reaction(
        self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        item = event.get("item")
        name = _string(event, "reaction") or ""
        action = emoji_action(name)
        user, channel, ts = _string(event, "user"), _string(item, "channel"), _string(item, "ts")
        on_a_message = isinstance(item, dict) and item.get("type") == "message"
        if action is None or not on_a_message or channel is None or ts is None:
            return
        if user is None or user == context.bot_user_id:
            return
        channel = self.qualify(tenant_of(body), channel)
        added = event["type"] == "reaction_added"
        reaction = ReactionEvent(
            PLATFORM,
            channel,
            ts,
            user,
            action,
            added,
            event_key=event_key(body),
            emoji=name,
            workspace=workspace_of(tenant_of(body)),
        )
        asker = Asker(reaction.channel_id, user)
        self.background.spawn(self._answer(asker, _no_reply(self.room.reaction(reaction))))

    async def on_message(
        self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        thread_ts, ts = _string(event, "thread_ts"), _string(event, "ts")
        user, channel = _string(event, "user"), _string(event, "channel")
        from_bot = bool(event.get("bot_id")) or user == context.bot_user_id
        subtype = event.get("subtype")
        if not thread_ts or not ts or thread_ts == ts or subtype not in THREAD_REPLY_SUBTYPES:
            return
        if from_bot or user is None or channel is None:
            return
        channel = self.qualify(tenant_of(body), channel)
        text = _string(event, "text") or ""
        message = ThreadMessage(
            PLATFORM,
            channel,
            thread_ts,
            ts,
            user,
            text,
            event_key=event_key(body),
            workspace=workspace_of(tenant_of(body)),
        )
        asker = Asker(message.channel_id, message.user_id, message.thread_id)
        self.background.spawn(self._answer(asker, _no_reply(self.room.thread_message(message))))

    async def _answer(self, asker: Asker, work: Awaitable[Reply | None]) -> None:
        """The one place where outcomes become what the person who asked reads."""
        what = f"a Slack request from {asker.user_id} in {asker.channel_id}"
        shown = await outcome(work, what, log, platform_refusal=platform_refusal)
        if shown is None:
            return
        reply = Reply(Card("", (Section(None, shown),))) if isinstance(shown, str) else shown
        try:
            await self.port.ephemeral(asker, reply.card)
        except Exception as exc:  # the Web API's retries are spent; nothing else to try
            log.warning("answering %s failed: %s", what, exc)


async def _no_reply(work: Awaitable[None]) -> Reply | None:
    await work
    return None


def _string(payload: object, key: str) -> str | None:
    """`payload[key]` if it is a non-empty string: a field missing or of another type is None."""
    value = payload.get(key) if isinstance(payload, dict) else None
    return value if isinstance(value, str) and value else None


def event_key(body: dict[str, Any]) -> str | None:
    """The delivery id of an Events API envelope: app, workspace (the enterprise for an org-wide
    install, whose events are the org's) and event id; the same for each retry of it."""
    event_id = _string(body, "event_id")
    if event_id is None:
        return None
    return f"{_string(body, 'api_app_id')}:{tenant_of(body)}:{event_id}"


def register_listeners(
    app: AsyncApp, listeners: SlackListeners, home: SlackHome, settings: SlackSettings
) -> None:
    """Every route the Slack app serves, in HTTP and Socket Mode alike."""
    for command in COMMANDS:
        app.command(command)(listeners.on_command)
    app.event("reaction_added")(listeners.on_reaction)
    app.event("reaction_removed")(listeners.on_reaction)
    app.event("message")(listeners.on_message)
    app.event("app_home_opened")(home.on_app_home_opened)
    app.action(OPEN_ACTION)(settings.on_open)
    app.view(CALLBACK_ID)(settings.on_submit)
    app.action(OPEN_PERSONAS_ACTION)(settings.on_open_personas)
    app.view(PERSONAS_CALLBACK_ID)(settings.on_submit_personas)
    app.action(OPEN_APPROVALS_ACTION)(settings.on_open_approvals)
    app.view(APPROVALS_CALLBACK_ID)(settings.on_submit_approvals)
    app.action(OPEN_DESTINATIONS_ACTION)(settings.on_open_destinations)
    app.view(DESTINATIONS_CALLBACK_ID)(settings.on_submit_destinations)
