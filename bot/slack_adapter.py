"""The Slack adapter: connects slack-bolt's `AsyncApp` to Slack and to the drafting room.

What each request becomes is in `bot.slack_listeners`; what the room says goes out through
`SlackPort`, the `ChatPort` on Slack's Web API. Socket Mode when SLACK_APP_TOKEN is set, else
HTTP on SLACK_PORT (`POST /slack/events`, `GET /healthz`); both serve the same listeners.
With SLACK_CLIENT_ID and SLACK_CLIENT_SECRET, each workspace installs draftroom through OAuth
instead of one SLACK_BOT_TOKEN (`bot.slack_oauth`; HTTP mode only).
"""

from __future__ import annotations

import json
import logging

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import SecretStr
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.background import Background
from bot.errors import ConfigError
from bot.settings import Settings
from bot.slack_home import SlackHome
from bot.slack_listeners import SlackListeners, register_listeners
from bot.slack_oauth import NOT_INSTALLED, SlackOAuth
from bot.slack_port import PLATFORM, SlackClient, SlackPort, retry_handlers
from bot.slack_settings import SlackAdmins, SlackSettings
from bot.slack_teams import place, plain, serving, team_of
from bot.web import Site
from bot.web_server import page_url
from handlers.room import DraftRoom

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


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
        self.background = Background(log)
        self.home: SlackHome | None = None
        self._runner: web.AppRunner | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self._session: aiohttp.ClientSession | None = None
        self.oauth: SlackOAuth | None = None

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
        if token is None and not self.settings.slack_oauth:
            raise ConfigError("Slack needs SLACK_BOT_TOKEN (xoxb-...).")
        if self.settings.slack_oauth and self.socket_mode:
            raise ConfigError(
                "Installing through OAuth (SLACK_CLIENT_ID) serves /slack/install in HTTP mode: "
                "unset SLACK_APP_TOKEN."
            )
        if signing_secret is None and not self.socket_mode:
            raise ConfigError(
                "Slack in HTTP mode needs SLACK_SIGNING_SECRET; or set SLACK_APP_TOKEN for "
                "Socket Mode."
            )
        # One session for every Web API call keeps connections alive; slack-sdk would
        # otherwise open a session, and a TLS connection, per call.
        self._session = aiohttp.ClientSession()
        options = {
            "base_url": self.settings.slack_api_url,
            "retry_handlers": retry_handlers(),
            "session": self._session,
        }
        if self.settings.slack_oauth:
            app_client = SlackClient(**options)  # bolt gives each request its workspace's token
            self.oauth = SlackOAuth(self.settings, self.room.deps.db, app_client)
            client: AsyncWebClient = self.oauth.room_client(**options)
            self.app = AsyncApp(
                client=app_client,
                signing_secret=signing_secret or "",
                oauth_settings=self.oauth.settings,
                # An `AsyncAuthorize` is taken as it is (bolt's hint names functions only).
                authorize=self.oauth.authorize,  # type: ignore[arg-type]
                user_facing_authorize_error_message=NOT_INSTALLED,
            )
            self.oauth.register_listeners(self.app)
        else:
            client = SlackClient(token=token, **options)
            self.app = AsyncApp(client=client, signing_secret=signing_secret or "")
        self.slack = SlackPort(client)
        if self.oauth is not None:
            self.oauth.on_installed = self.slack.remember_workspace
        admins = SlackAdmins()
        # Channel and user ids are unique only within a workspace: with several, the core's
        # names for them carry their team (bot.slack_teams).
        qualify = place if self.oauth is not None else plain
        self.home = SlackHome(self.room, client, self.background, admins=admins, qualify=qualify)
        listeners = SlackListeners(self.room, self.slack, self.background, qualify=qualify)
        settings = SlackSettings(self.room, admins, self.home.queues_changed, qualify=qualify)
        register_listeners(self.app, listeners, self.home, settings)
        self.room.deps.ports.watch_queues(PLATFORM, self.home.queues_changed)
        self.room.connect(self.slack)
        try:
            if self.oauth is None:  # else each workspace's, when installed or first sent to
                await self.slack.remember_workspace()
            if self.socket_mode:
                await self._start_socket_mode(self.app)
            else:
                await self._start_http(self.app)
        except BaseException:
            await self.stop()
            raise
        self.background.spawn(self.reconcile())

    async def reconcile(self) -> None:
        """Apply reactions given to waiting drafts while the bot was down, or whose event was
        acknowledged and then lost in a crash: Slack does not deliver an acked event again.
        Approval state is recomputed from history, so re-applying a counted ✅ changes nothing."""
        assert self.slack is not None
        bots: dict[str | None, str] = {}  # team -> the bot's user id there
        for link in await self.room.awaiting_drafts(PLATFORM):
            team = team_of(link.channel_id)
            try:
                with serving(team):
                    if team not in bots:
                        bots[team] = str((await self.slack.client.auth_test()).get("user_id", ""))
                present = await self.slack.reactions_on(link.channel_id, link.message_id)
                await self.room.reconcile(
                    link, {(user, name) for name, user in present if user != bots[team]}
                )
            except Exception as exc:  # uninstalled meanwhile, or Slack down: the next start
                log.warning("Slack: reading back reactions of %s failed: %s", link.channel_id, exc)

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
        Site(self.room.pages).add_routes(web_app)  # the pages share Slack's server
        self._runner = web.AppRunner(web_app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = self._runner.addresses[0][1]
        self.room.pages.serving_at(page_url(self.host, self.port))
        log.info("Slack: serving %s on %s:%d", EVENTS_PATH, self.host, self.port)

    async def wait_idle(self) -> None:
        """Until every request handed to the background so far is handled."""
        await self.background.wait_idle()

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
            self._socket = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.home is not None:
            self.home.stop()
        await self.background.cancel_all()
        if self.oauth is not None:
            await self.oauth.tokens.close()
        if self._session is not None:
            # Calls after this (the room settling its last edits) get a session of their own.
            await self._session.close()
            self._session = None


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True, "platform": PLATFORM})
