"""The Slack adapter: slack-bolt's `AsyncApp` in front of the drafting room, and nothing more.

Slash commands, reactions and thread replies become calls on `DraftRoom`; what the room says goes
out through `SlackPort`, the `ChatPort` on Slack's Web API. Socket Mode when SLACK_APP_TOKEN is
set, else HTTP on SLACK_PORT (`POST /slack/events`, `GET /healthz`); both serve the same
listeners. Every request is acknowledged at once and handled in a background task. Redeliveries
are passed on: the room deduplicates on `(team_id, event_id)`, persisted across restarts.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import SecretStr
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext

from bot.bootstrap import ConfigError
from bot.settings import Settings
from bot.slack_port import (
    NOT_IN_CHANNEL,
    PLATFORM,
    Asker,
    SlackClient,
    SlackPort,
    not_a_member,
    reaction_action,
    retry_handlers,
)
from handlers.commands import USAGE
from handlers.ports import (
    Card,
    Invocation,
    ReactionEvent,
    Reply,
    Section,
    ThreadMessage,
    UserError,
)
from handlers.room import DraftRoom

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
COMMANDS = tuple(f"/{name}" for name in USAGE)
SOMETHING_WENT_WRONG = "⚠️ Something went wrong on our side; it is in the log. Try again."
# A reply with "also send to channel" is still a reply in its thread.
THREAD_REPLY_SUBTYPES = (None, "thread_broadcast")


class SlackListeners:
    """What each Slack request becomes in the room. Each acknowledges at once (bolt does it for
    events) and hands the work to `spawn`, so nothing slow happens before the ack."""

    def __init__(
        self,
        room: DraftRoom,
        port: SlackPort,
        spawn: Callable[[Coroutine[Any, Any, None]], None],
    ) -> None:
        self.room = room
        self.port = port
        self.spawn = spawn

    async def on_command(self, ack: AsyncAck, command: dict[str, Any]) -> None:
        await ack()
        channel, user = _string(command, "channel_id"), _string(command, "user_id")
        if channel is None or user is None:
            return  # nobody to answer, and nowhere to
        asker = Asker(channel, user, response_url=_string(command, "response_url"))
        # trigger_id is unique to one invocation: a replayed request carries the same one.
        inv = Invocation(PLATFORM, channel, user, event_key=_string(command, "trigger_id"))
        name, text = str(command.get("command", "")).lstrip("/"), _string(command, "text") or ""
        self.spawn(self._answer(asker, self.room.command(inv, name, text)))

    async def on_reaction(
        self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        item = event.get("item")
        action = reaction_action(_string(event, "reaction") or "")
        user, channel, ts = _string(event, "user"), _string(item, "channel"), _string(item, "ts")
        on_a_message = isinstance(item, dict) and item.get("type") == "message"
        if action is None or not on_a_message or channel is None or ts is None:
            return
        if user is None or user == context.bot_user_id:
            return
        reaction = ReactionEvent(
            PLATFORM,
            channel,
            ts,
            user,
            action,
            added=event["type"] == "reaction_added",
            event_key=event_key(body),
            emoji=_string(event, "reaction") or "",
        )
        asker = Asker(reaction.channel_id, user)
        self.spawn(self._answer(asker, self._no_reply(self.room.reaction(reaction))))

    async def on_message(
        self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        thread_ts, ts = _string(event, "thread_ts"), _string(event, "ts")
        user, channel = _string(event, "user"), _string(event, "channel")
        from_bot = bool(event.get("bot_id")) or user == context.bot_user_id
        subtype = event.get("subtype")
        if not thread_ts or not ts or thread_ts == ts or subtype not in THREAD_REPLY_SUBTYPES:
            return
        if from_bot:
            return
        if user is None or channel is None:
            return
        message = ThreadMessage(
            PLATFORM,
            channel,
            thread_ts,
            ts,
            user,
            _string(event, "text") or "",
            event_key=event_key(body),
        )
        asker = Asker(message.channel_id, message.user_id, message.thread_id)
        self.spawn(self._answer(asker, self._no_reply(self.room.thread_message(message))))

    @staticmethod
    async def _no_reply(work: Awaitable[None]) -> Reply | None:
        await work
        return None

    async def _answer(self, asker: Asker, work: Awaitable[Reply | None]) -> None:
        """The one place where outcomes become what the person who asked reads: a reply, a
        short refusal, or a plain apology (the traceback goes to the log, never to chat)."""
        try:
            reply = await work
        except UserError as exc:
            reply = Reply(Card("", (Section(None, f"⚠️ {exc}"),)))
        except Exception as exc:
            if not_a_member(exc):
                log.warning("Slack: not a member of %s (%s)", asker.channel_id, exc)
                reply = Reply(Card("", (Section(None, NOT_IN_CHANNEL),)))
            else:
                log.exception("handling a Slack request from %s in %s failed", *_who(asker))
                reply = Reply(Card("", (Section(None, SOMETHING_WENT_WRONG),)))
        if reply is None:
            return
        try:
            if reply.public:
                await self.port.send(asker.channel_id, reply.card, thread_id=asker.thread_ts)
            else:
                await self.port.ephemeral(asker, reply.card)
        except Exception as exc:  # the Web API's retries are spent; nothing else to try
            log.warning("answering %s in %s failed: %s", *_who(asker), exc)


def _who(asker: Asker) -> tuple[str, str]:
    return asker.user_id, asker.channel_id


def _string(payload: object, key: str) -> str | None:
    """`payload[key]` if it is a non-empty string: a field missing or of another type is None."""
    value = payload.get(key) if isinstance(payload, dict) else None
    return value if isinstance(value, str) and value else None


@web.middleware
async def refuse_unreadable(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bolt reads a request's envelope before it checks the signature, and trusts its shape: an
    envelope it cannot read would be a 500 and a traceback in the log. It is a 400 and one line.
    """
    if request.content_type == "application/json":
        try:
            body = json.loads(await request.read())
        except ValueError:
            body = None
        readable = isinstance(body, dict) and (
            body.get("type") != "event_callback" or isinstance(body.get("event"), dict)
        )
        if not readable:
            log.warning("refused a Slack request whose envelope is not an event")
            return web.Response(status=400, text="unreadable request")
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception as exc:
        log.warning("refused a Slack request bolt could not read (%s)", type(exc).__name__)
        return web.Response(status=400, text="unreadable request")


def event_key(body: dict[str, Any]) -> str | None:
    team, event_id = body.get("team_id"), body.get("event_id")
    return f"{team}:{event_id}" if event_id else None


def register_listeners(app: AsyncApp, listeners: SlackListeners) -> None:
    """Every route the Slack app serves, in HTTP and Socket Mode alike."""
    for command in COMMANDS:
        app.command(command)(listeners.on_command)
    app.event("reaction_added")(listeners.on_reaction)
    app.event("reaction_removed")(listeners.on_reaction)
    app.event("message")(listeners.on_message)


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None and value.get_secret_value() else None


class SlackAdapter:
    """Starts and stops Slack for the room. `host`/`port` override where HTTP mode listens
    (port 0 picks a free one); after `start`, `port` is the bound port."""

    def __init__(
        self, settings: Settings, room: DraftRoom, *, host: str = "0.0.0.0", port: int | None = None
    ) -> None:
        self.settings = settings
        self.room = room
        self.host = host
        self.port = settings.slack_port if port is None else port
        self.app: AsyncApp | None = None
        self.slack: SlackPort | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def socket_mode(self) -> bool:
        return _secret(self.settings.slack_app_token) is not None

    @property
    def events_url(self) -> str:
        """Where this machine reaches the HTTP-mode endpoint (tests, benchmarks)."""
        return f"http://127.0.0.1:{self.port}{EVENTS_PATH}"

    async def start(self) -> None:
        token = _secret(self.settings.slack_bot_token)
        signing_secret = _secret(self.settings.slack_signing_secret)
        if token is None:
            raise ConfigError("Slack needs SLACK_BOT_TOKEN (xoxb-...).")
        if signing_secret is None and not self.socket_mode:
            raise ConfigError(
                "Slack in HTTP mode needs SLACK_SIGNING_SECRET; or set SLACK_APP_TOKEN for "
                "Socket Mode."
            )
        # One session for every Web API call keeps connections alive; slack-sdk would
        # otherwise open a session, and a TLS connection, per call.
        self._session = aiohttp.ClientSession()
        client = SlackClient(
            token=token,
            base_url=self.settings.slack_api_url,
            retry_handlers=retry_handlers(),
            session=self._session,
        )
        self.slack = SlackPort(client)
        self.app = AsyncApp(client=client, signing_secret=signing_secret or "")
        register_listeners(self.app, SlackListeners(self.room, self.slack, self._spawn))
        self.room.connect(self.slack)
        try:
            if self.socket_mode:
                await self._start_socket_mode(self.app)
            else:
                await self._start_http(self.app)
        except BaseException:
            await self.stop()
            raise
        self._spawn(self.reconcile())

    async def reconcile(self) -> None:
        """Apply reactions given to waiting drafts while the bot was down, or whose event was
        acknowledged and then lost in a crash: Slack does not deliver an acked event again.
        Approval state is recomputed from history, so re-applying a counted ✅ changes nothing."""
        assert self.slack is not None
        try:
            me = str((await self.slack.client.auth_test()).get("user_id", ""))
            for link in await self.room.awaiting_drafts(PLATFORM):
                present = await self.slack.reactions_on(link.channel_id, link.message_id)
                await self.room.reconcile(
                    link, {(user, name) for name, user in present if user != me}
                )
        except Exception:
            log.exception("Slack: reading back reactions of waiting drafts failed")

    async def _start_socket_mode(self, app: AsyncApp) -> None:
        # The handler's Web API client is `app.client`, so apps.connections.open goes to
        # SLACK_API_URL like every other call.
        self._socket = AsyncSocketModeHandler(app, app_token=_secret(self.settings.slack_app_token))
        await self._socket.connect_async()  # type: ignore[no-untyped-call]
        log.info("Slack: connected in Socket Mode")

    async def _start_http(self, app: AsyncApp) -> None:
        web_app = app.web_app(path=EVENTS_PATH, port=self.port)
        web_app.middlewares.append(refuse_unreadable)
        web_app.router.add_get("/healthz", _healthz)
        self._runner = web.AppRunner(web_app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = self._runner.addresses[0][1]
        log.info("Slack: serving %s on %s:%d", EVENTS_PATH, self.host, self.port)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait_idle(self) -> None:
        """Until every request handed to the background so far is handled."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
            self._socket = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            # Calls after this (the room settling its last edits) get a session of their own.
            await self._session.close()
            self._session = None


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True, "platform": PLATFORM})
