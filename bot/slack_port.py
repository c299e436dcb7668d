"""The room's `ChatPort` on Slack's Web API, and the client it uses.

Every card goes out as Block Kit with a text fallback (see `bot.slack_blocks`), its images in
the message (see `bot.slack_uploads`). Posts carry their
idempotency key in message metadata, so `find_sent` can tell whether a post whose outcome was
lost did reach Slack. Retries are slack-sdk's only: Retry-After on 429, a few tries on 5xx.

`chat:write.public` lets the bot post into a public channel it has not joined, nothing more:
private channels, ephemeral messages, edits, uploads and reactions need it to be a member.
Slack answers `not_in_channel` there, or `channel_not_found` for a private channel; a slash
command's answer then goes through its `response_url`, which works in any channel.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.edits import EditCoalescer
from bot.slack_blocks import render
from bot.slack_teams import CallArgs, serving, split, team_of
from bot.slack_uploads import SlackUploads, post_showing
from handlers.ports import (
    APPROVE,
    REGENERATE,
    REJECT,
    WARNING,
    Card,
    MessageRef,
    Section,
    emoji_action,
)

log = logging.getLogger(__name__)

PLATFORM = "slack"
DELIVERY_EVENT = "draftroom_delivery"  # message metadata carrying a post's idempotency key
RATE_LIMIT_RETRIES = 5
SERVER_ERROR_RETRIES = 2
HISTORY_PAGES, HISTORY_PAGE_SIZE = 3, 200  # how far back find_sent looks
NOT_IN_CHANNEL = (
    f"{WARNING} I'm not in this channel: invite me with /invite @draftroom, then try again."
)
MEMBERSHIP_ERRORS = frozenset({"not_in_channel", "channel_not_found"})
# Slack allows about one chat.update a second per message; a progress card's edits fold to that.
CHAT_UPDATE_INTERVAL_S = 1.0

# The reaction the bot adds to offer each action. Reading a reaction goes through the core's
# table (`handlers.ports.emoji_action`), which knows every Slack name of every action.
OFFERED_NAMES = {APPROVE: "white_check_mark", REJECT: "x", REGENERATE: "repeat"}


def offered_name(emoji: str) -> str | None:
    action = emoji_action(emoji)
    return OFFERED_NAMES[action] if action else None


def not_a_member(exc: BaseException) -> bool:
    """Slack refused because the bot is not in the channel (or cannot see the private one)."""
    return isinstance(exc, SlackApiError) and exc.response.get("error") in MEMBERSHIP_ERRORS


def platform_refusal(exc: Exception) -> str | None:
    """What to tell the person when Slack, not draftroom, refused what they asked for."""
    return NOT_IN_CHANNEL if not_a_member(exc) else None


def permalink(workspace_url: str, channel: str, ts: str, thread_ts: str | None = None) -> str:
    """The link chat.getPermalink answers, built without the call: a reply in a thread carries
    its thread and channel, or Slack opens it without the thread around it."""
    link = f"{workspace_url.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"
    if thread_ts is not None and thread_ts != ts:
        link += f"?thread_ts={thread_ts}&cid={channel}"
    return link


def retry_handlers() -> list[AsyncRetryHandler]:
    """The only retry layer for Slack calls: Retry-After on 429, a few tries on 5xx."""
    return [
        AsyncConnectionErrorRetryHandler(),
        AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        AsyncServerErrorRetryHandler(max_retry_count=SERVER_ERROR_RETRIES),
    ]


class SlackClient(AsyncWebClient):
    """`AsyncWebClient` with one call per API method in flight.

    Slack rate-limits per method. Were calls of a method concurrent, the others would arrive
    while one waits out a 429's Retry-After, and be refused too; in turn, they queue behind it.
    (Clients that bolt copies per request lack this; the adapter makes no calls through them.)
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._method_locks: defaultdict[Hashable, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def route(self, api_method: str, args: CallArgs) -> Hashable:
        """The queue a call waits in; a subclass may also change its arguments first."""
        return api_method

    async def api_call(
        self,
        api_method: str,
        *,
        http_verb: str = "POST",
        files: dict[str, Any] | None = None,
        data: Any = None,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
        auth: dict[str, Any] | None = None,
    ) -> AsyncSlackResponse:
        args = CallArgs(params, json, data)
        async with self._method_locks[await self.route(api_method, args)]:
            return await super().api_call(
                api_method,
                http_verb=http_verb,
                files=files,
                data=args.data,
                params=args.params,
                json=args.json,
                headers=headers,
                auth=auth,
            )


class SlackPort:
    """The room's `ChatPort` on Slack. A post that still fails after the SDK's retries raises;
    the room records it as pending and its sweeper posts it later."""

    platform = PLATFORM

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self.uploads = SlackUploads(client)
        self.edits = EditCoalescer(self._update, interval=CHAT_UPDATE_INTERVAL_S)
        # team (None: the one workspace) -> auth.test's `url`, https://acme.slack.com/
        self.workspace_urls: dict[str | None, str | None] = {}

    async def remember_workspace(self, team: str | None = None) -> None:
        """Learn a workspace's URL once, so `message_url` needs no call per message; without
        it (auth.test failed) there are no message links, and everything else works."""
        try:
            with serving(team):
                answer = await self.client.auth_test()
        except Exception as exc:
            log.warning("Slack: auth.test failed (%s); messages will have no links", exc)
            self.workspace_urls[team] = None
            return
        url = str(answer.get("url") or "")
        self.workspace_urls[team] = url if url.startswith(("https://", "http://")) else None

    def message_url(self, ref: MessageRef, *, thread_id: str | None = None) -> str | None:
        team, channel = split(ref.channel_id)
        url = self.workspace_urls.get(team)
        return None if url is None else permalink(url, channel, ref.message_id, thread_id)

    async def send(
        self,
        channel_id: str,
        card: Card,
        *,
        thread_id: str | None = None,
        idempotency_key: str | None = None,
        reactions: tuple[str, ...] = (),
    ) -> MessageRef:
        team = team_of(channel_id)
        if team not in self.workspace_urls:
            await self.remember_workspace(team)
        with serving(team):  # its uploads name no channel
            return await self._send(channel_id, card, thread_id, idempotency_key, reactions)

    async def _send(
        self,
        channel_id: str,
        card: Card,
        thread_id: str | None,
        idempotency_key: str | None,
        reactions: tuple[str, ...],
    ) -> MessageRef:
        extra: dict[str, Any] = {}
        if thread_id:
            extra["thread_ts"] = thread_id
        if idempotency_key:
            payload = {"key": idempotency_key}
            extra["metadata"] = {"event_type": DELIVERY_EVENT, "event_payload": payload}
        shown = await self.uploads.unshared(card.images, card.title, idempotency_key)
        ts, shown = await post_showing(self.client, channel_id, card, shown, extra)
        # The message exists from here on: a failure below is logged, never raised, or the
        # room would count the message as unposted and a retry would find it without these.
        self.uploads.posted(idempotency_key, (channel_id, ts), tuple(shown.values()))
        for image in card.images:
            if image not in shown:
                await self.uploads.to_thread(channel_id, thread_id or ts, image, card.title)
        for emoji in reactions:
            await self._react(channel_id, ts, emoji)
        return MessageRef(PLATFORM, channel_id, ts)

    async def _react(self, channel_id: str, ts: str, emoji: str) -> None:
        name = offered_name(emoji)
        if name is None:
            log.warning("no Slack reaction name for %r", emoji)
            return
        try:
            await self.client.reactions_add(channel=channel_id, timestamp=ts, name=name)
        except SlackApiError as exc:
            if exc.response.get("error") != "already_reacted":
                log.warning("reacting %s on %s/%s failed: %s", name, channel_id, ts, exc)
        except Exception as exc:  # the message is posted; see `send`
            log.warning("reacting %s on %s/%s failed: %s", name, channel_id, ts, exc)

    async def edit(self, ref: MessageRef, card: Card) -> None:
        await self.edits.edit((ref.channel_id, ref.message_id), card)

    async def _update(self, where: tuple[str, str], card: Card) -> None:
        shown = await self.uploads.shown_on(where) if card.images else ()
        message = render(card, shown)
        channel, ts = where
        await self.client.chat_update(
            channel=channel, ts=ts, text=message.text, blocks=message.blocks
        )

    async def find_sent(
        self, channel_id: str, idempotency_key: str, *, thread_id: str | None = None
    ) -> MessageRef | None:
        """A keyed message in the channel's recent history, or in the thread it was sent to."""
        cursor: str | None = None
        for _ in range(HISTORY_PAGES):
            if thread_id is None:
                page = await self.client.conversations_history(
                    channel=channel_id,
                    include_all_metadata=True,
                    limit=HISTORY_PAGE_SIZE,
                    cursor=cursor,
                )
            else:
                page = await self.client.conversations_replies(
                    channel=channel_id,
                    ts=thread_id,
                    include_all_metadata=True,
                    limit=HISTORY_PAGE_SIZE,
                    cursor=cursor,
                )
            for message in page.get("messages") or []:
                metadata = message.get("metadata") or {}
                key = (metadata.get("event_payload") or {}).get("key")
                if metadata.get("event_type") == DELIVERY_EVENT and key == idempotency_key:
                    return MessageRef(PLATFORM, channel_id, str(message["ts"]))
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
        return None

    async def reactions_on(self, channel_id: str, ts: str) -> list[tuple[str, str]]:
        """Every (reaction name, user id) on a message, as Slack has it now."""
        answer = await self.client.reactions_get(channel=channel_id, timestamp=ts, full=True)
        message = answer.get("message") or {}
        return [
            (str(reaction.get("name", "")), str(user))
            for reaction in message.get("reactions", [])
            for user in reaction.get("users", [])
        ]

    async def ephemeral(self, asker: Asker, card: Card) -> None:
        message = render(card)
        try:
            await self.client.chat_postEphemeral(
                channel=asker.channel_id,
                user=asker.user_id,
                text=message.text,
                blocks=message.blocks,
                thread_ts=asker.thread_ts,
            )
        except SlackApiError as exc:
            if asker.response_url is None or not not_a_member(exc):
                raise
            await self._respond(asker.response_url, message.text, message.blocks)

    async def notify(
        self, channel_id: str, user_id: str, text: str, *, thread_id: str | None = None
    ) -> None:
        await self.ephemeral(
            Asker(channel_id, user_id, thread_id), Card("", (Section(None, text),))
        )

    async def _respond(self, response_url: str, text: str, blocks: list[dict[str, Any]]) -> None:
        """An ephemeral answer to a slash command through its response_url."""
        webhook = AsyncWebhookClient(
            response_url, session=self.client.session, retry_handlers=retry_handlers()
        )
        answer = await webhook.send(text=text, blocks=blocks, response_type="ephemeral")
        if answer.status_code != 200:
            raise RuntimeError(f"response_url answered {answer.status_code} {answer.body[:100]}")


@dataclass(frozen=True)
class Asker:
    """Whom to answer, and where: the user behind a command, reaction or thread reply."""

    channel_id: str
    user_id: str
    thread_ts: str | None = None
    response_url: str | None = None  # a slash command's: answers reach the person there too
