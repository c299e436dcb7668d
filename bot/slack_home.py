"""Slack's App Home tab: each viewer's approval queue, published with views.publish.

The queue is the core's (`DraftRoom.queue_for`), over the channels the viewer is in that the
bot is in too (users.conversations). It is published when the viewer opens the tab, and again
whenever drafts on Slack change (`ChatPorts.watch_queues`), coalesced to one refresh per viewer
per `min_interval`. A refresh that fails is logged and leaves the view Slack shows as it was.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.background import Background
from bot.slack_blocks import cut, escape, links_text
from bot.slack_settings import SlackAdmins, settings_blocks, workspace_of
from bot.slack_teams import Qualify, plain, serving, split, tenant_of
from handlers.approver_queue import Queue, Waiting
from handlers.ports import Link
from handlers.room import DraftRoom

log = logging.getLogger(__name__)

PLATFORM = "slack"
MAX_HOME_BLOCKS = 100  # Slack's limit for a home view
HEADER_CHARS = 150
HEADLINE_CHARS = 300
CHANNEL_TYPES = "public_channel,private_channel"
CHANNELS_PAGE, MAX_CHANNEL_PAGES = 200, 50
REFRESH_INTERVAL_S = 1.0
# users.conversations is a Tier 3 method (about 50 calls a minute): a refresh for a change in
# the queues reuses channel lists this young; opening the tab always reads them afresh.
CHANNELS_TTL_S = 60.0

TITLE = "Your draftroom queue"
TO_APPROVE, TO_APPROVE_EMPTY = "Waiting for your approval", "Nothing is waiting for your approval."
YOURS, YOURS_EMPTY = "Your drafts waiting for others", "None of your drafts is waiting for others."
FOOTER = (
    "✅ on a draft message approves it, ❌ rejects it, 🔁 drafts it again. "
    "This tab refreshes itself when a draft here changes."
)
# The header, the summary, the footer, and per list its divider, heading and "more" line.
FIXED_BLOCKS = 3 + 2 * 3


Block = dict[str, Any]


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def entry_text(entry: Waiting) -> str:
    headline = escape(cut(entry.headline or "(no headline)", HEADLINE_CHARS))
    details = " · ".join(
        (
            f"post {entry.number}",
            f"@{escape(entry.persona)}",
            escape(entry.content_format),
            f"{entry.age} old",
            entry.cost,
        )
    )
    links = [Link("Draft message", entry.draft_url)] if entry.draft_url else []
    if entry.page is not None:
        links.append(Link("Page", entry.page.url))
    shown = links_text(tuple(links))
    return f"*{headline}*\n{details}" + (f"\n{shown}" if shown else "")


def _list(title: str, entries: Sequence[Waiting], empty: str, room: int) -> list[Block]:
    blocks: list[Block] = [{"type": "divider"}, _section(f"*{title}* ({len(entries)})")]
    if not entries:
        return [*blocks, _context(empty)]
    blocks += [_section(entry_text(entry)) for entry in entries[:room]]
    if len(entries) > room:
        blocks.append(_context(f"…and {len(entries) - room} older, not shown here."))
    return blocks


def home_view(queue: Queue, settings: Sequence[Block] = ()) -> dict[str, Any]:
    """The `home` view of a queue, newest first, within Slack's 100 blocks; `settings`: the
    Settings section an admin of the workspace sees (bot.slack_settings.settings_blocks)."""
    room = (MAX_HOME_BLOCKS - FIXED_BLOCKS - len(settings)) // 2
    summary = (
        f"{len(queue.to_approve)} waiting for your approval · "
        f"{len(queue.yours)} of yours waiting for others"
    )
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": cut(TITLE, HEADER_CHARS)}},
        _context(summary),
        *_list(TO_APPROVE, queue.to_approve, TO_APPROVE_EMPTY, room),
        *_list(YOURS, queue.yours, YOURS_EMPTY, room),
        *settings,
        _context(FOOTER),
    ]
    return {"type": "home", "blocks": blocks}


class SlackHome:
    """Keeps the Home tab of everyone who opened it current.

    Who opened Home, and in which workspace, is remembered in memory only, from the first time
    since this process started: after a restart a viewer's tab is refreshed again once they
    next open it (until then Slack keeps showing the last view published). With `admins`, a
    workspace admin's tab also shows the workspace's settings.
    """

    def __init__(
        self,
        room: DraftRoom,
        client: AsyncWebClient,
        background: Background,
        *,
        min_interval: float = REFRESH_INTERVAL_S,
        admins: SlackAdmins | None = None,
        qualify: Qualify = plain,
    ) -> None:
        self.room = room
        self.qualify = qualify  # how the core names a team's channel (bot.slack_teams)
        self.admins = admins
        self.client = client
        self.background = background
        self.min_interval = min_interval
        self._viewers: set[str] = set()
        self._teams: dict[str, str | None] = {}  # viewer -> the workspace they opened it in
        self._due: set[str] = set()  # a refresh is scheduled and has not started reading yet
        self._last: dict[str, float] = {}  # loop time each viewer's last refresh ended
        self._publishing: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._stopped = False
        self._fresh: set[str] = set()  # viewers whose next refresh reads their channels anew
        # (team, user or None for the bot's own) -> when read, and the channel ids
        self._channel_lists: dict[tuple[str | None, str | None], tuple[float, list[str]]] = {}

    async def on_app_home_opened(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        """bolt's listener; the Messages and About tabs have nothing to publish."""
        user, team = event.get("user"), tenant_of(body)
        if event.get("tab") == "home" and isinstance(user, str) and user:
            self.opened(user, team if isinstance(team, str) and team else None)

    def opened(self, user: str, team: str | None = None) -> None:
        viewer = self.qualify(team, user)  # user ids, too, are unique only within a workspace
        self._viewers.add(viewer)
        if team is not None:
            self._teams[viewer] = team
        self._fresh.add(viewer)
        self._schedule(viewer)

    def queues_changed(self) -> None:
        """The core's watch_queues callback: returns at once, the refreshes run later."""
        for user in self._viewers:
            self._schedule(user)

    def stop(self) -> None:
        self._stopped = True

    def _schedule(self, user: str) -> None:
        if self._stopped or user in self._due:
            return  # the refresh already coming reads the queue after this change
        self._due.add(user)
        self.background.spawn(self._refresh(user))

    async def _refresh(self, user: str) -> None:
        loop = asyncio.get_running_loop()
        try:
            wait = self._last.get(user, -math.inf) + self.min_interval - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
        finally:
            self._due.discard(user)
        async with self._publishing[user]:  # an older view never lands after a newer one
            try:
                await self.publish(user)
            finally:
                # Counted from the end: the next views.publish reaches Slack a full interval on.
                self._last[user] = loop.time()

    async def publish(self, viewer: str) -> None:
        team, user = self._teams.get(viewer), split(viewer)[1]
        with serving(team):
            await self._publish(viewer, team, user)

    async def _publish(self, viewer: str, team: str | None, user: str) -> None:
        try:
            places = await self.places_of(viewer)
            workspace = workspace_of(team)
            queue = await self.room.queue_for(PLATFORM, user, places, workspace=workspace)
            settings: list[dict[str, Any]] = []
            admin = self.admins is not None and await self.admins.may_see(self.client, team, user)
            if admin and workspace is not None:
                page = await self.room.settings_link(workspace, PLATFORM, user, admin=True)
                found = await self.room.workspace_settings(workspace)
                settings = settings_blocks(found, page)
            await self.client.views_publish(user_id=user, view=home_view(queue, settings))
        except Exception as exc:
            log.warning("Slack: refreshing the Home tab of %s failed: %s", user, exc)

    async def places_of(self, viewer: str) -> list[tuple[str, str]]:
        """The channels the viewer is in that the bot is in too, in the workspace `publish`
        serves. Slack lists a private channel for another user only when the bot shares it;
        public ones are kept to the bot's own."""
        fresh = viewer in self._fresh
        self._fresh.discard(viewer)
        team, user = self._teams.get(viewer), split(viewer)[1]
        theirs = await self._cached_channels(team, user, fresh=fresh)
        bots = set(await self._cached_channels(team, None, fresh=fresh))
        return [(PLATFORM, self.qualify(team, channel)) for channel in theirs if channel in bots]

    async def _cached_channels(
        self, team: str | None, user: str | None, *, fresh: bool
    ) -> list[str]:
        now = asyncio.get_running_loop().time()
        kept = self._channel_lists.get((team, user))
        if not fresh and kept is not None and now - kept[0] < CHANNELS_TTL_S:
            return kept[1]
        found = await self._channels(user)
        self._channel_lists[(team, user)] = (now, found)
        return found

    async def _channels(self, user: str | None) -> list[str]:
        found: list[str] = []
        cursor: str | None = None
        for _ in range(MAX_CHANNEL_PAGES):
            args: dict[str, Any] = {"types": CHANNEL_TYPES, "exclude_archived": True}
            if user is not None:
                args["user"] = user
            if cursor:
                args["cursor"] = cursor
            page = await self.client.users_conversations(limit=CHANNELS_PAGE, **args)
            for channel in page.get("channels") or []:
                if isinstance(channel, dict) and isinstance(channel.get("id"), str):
                    found.append(channel["id"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        return found
