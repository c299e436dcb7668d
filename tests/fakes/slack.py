"""A fake Slack for tests: a real aiohttp server on 127.0.0.1 that stands in for slack.com.

What it fakes
- The Web API under `api_url` (`http://127.0.0.1:PORT/api/`, usable as `AsyncWebClient(base_url=)`):
  auth.test, chat.postMessage/update/delete/postEphemeral/getPermalink, reactions.add/remove/get,
  files.getUploadURLExternal + the upload URL + files.completeUploadExternal (what
  `files_upload_v2` does), conversations.history/replies, users.conversations, views.publish
  (the Home tab: `home_views`, `add_member`, `app_home_opened`; see `slack_views`), users.info,
  views.open (trigger_ids, modals: `add_user`, `open_views`, `age_triggers`; see `slack_modals`)
  and apps.connections.open. Parameters are read from the query string, form, multipart or JSON
  bodies; the token from `Authorization: Bearer` or a `token` field. Errors use Slack's names
  (`invalid_auth`, `channel_not_found`, `not_in_channel`, `message_not_found`, `already_reacted`,
  `invalid_blocks`, `msg_blocks_too_long`, `unknown_method`, ...) and Block Kit limits are
  enforced.
- Channel membership: a channel has members and `is_private`. In a channel the bot is not in,
  channel methods (chat.*, reactions.*, file sharing, history) answer `not_in_channel`, and
  `channel_not_found` if it is private; only chat.postMessage into a public one succeeds, when
  the token has `chat:write.public` (`scopes`, by default what the app's manifest asks for;
  every answer to the bot token carries them in `x-oauth-scopes`, as Slack's do).
  Undeclared channel ids starting with C, G or D exist with the bot in them, unless
  `strict_channels`. `create_channel(..., member=False, is_private=True)`, `invite_bot(channel)`.
- Workspaces (see `tests.fakes.slack_workspaces`): channels, members, messages, reactions and
  uploaded files belong to a team, the team of the call's token (`Call.team`; the bot token and
  unknown tokens: the default team `team_id`). Another team's channel or ts is unknown to a
  call. Test controls and payload builders take `team=`; queries without it span all teams.
- OAuth v2 install and token rotation (see `tests.fakes.slack_oauth`): teams, the authorize page,
  oauth.v2.access (codes and refresh tokens, each spent once), tokens that expire.
- Faults on request: `fail_next(method, status=429, retry_after=1, times=N)` and `delay_next(...)`.
- Sending to the bot in HTTP mode, signed like Slack: `send_event`, `send_command`,
  `send_interactive`; `response_url`s in payloads point back here and are recorded. A person
  using the app's views: `click_home_button`, `submit_view` (see `slack_interactions`).
- Socket Mode (see `tests.fakes.slack_socket`): `apps.connections.open` hands out a ws:// URL;
  `push_envelope`, `wait_ack`, `acked_envelopes`, `disconnect_sockets`.

Everything is recorded: `calls`, `messages()`, `ephemerals`, `uploaded_files`, `reactions_on()`,
`response_url_posts`, `deliveries`. Time stamps in records are `time.monotonic()`.
Close Socket Mode clients before `stop()`, or they will keep trying to reconnect.

Module layout: `slack.py` (this file) holds `FakeSlack` (state, lifecycle, the method table);
`slack_chat` (chat.*, reactions.*), `slack_files` (files.*), `slack_conversations`,
`slack_blocks` (Block Kit limits), `slack_workspaces` (teams, channels and membership),
`slack_recording` (records and queries) and `slack_http`
(Web API endpoint, tokens, faults, response_urls) are mixins and helpers; what the fake sends
to the bot is in `slack_socket` (Socket Mode), `slack_bot_payloads` and `slack_signed_senders`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import web

from tests.fakes.slack_blocks import (
    BLOCK_TYPES,
    LIMITS,
    MAX_BLOCKS,
    MAX_BLOCKS_JSON,
    MAX_TEXT,
    block_errors,
)
from tests.fakes.slack_chat import ChatMethodsMixin
from tests.fakes.slack_conversations import ConversationMethodsMixin
from tests.fakes.slack_files import FileMethodsMixin
from tests.fakes.slack_http import ApiError, Fault, WebApiPlumbingMixin
from tests.fakes.slack_interactions import InteractionsMixin
from tests.fakes.slack_modals import ModalMethodsMixin
from tests.fakes.slack_oauth import OAuthMixin
from tests.fakes.slack_recording import (
    Call,
    FakeMessage,
    RecordingMixin,
    ResponseUrlPost,
    UploadedFile,
)
from tests.fakes.slack_socket import Delivery, SlackToBot, SocketModeHub
from tests.fakes.slack_views import ViewMethodsMixin
from tests.fakes.slack_workspaces import WorkspacesMixin

# What installing the app's manifest grants (bot/slack_scopes.py; a test keeps them equal).
DEFAULT_SCOPES = (
    "commands",
    "chat:write",
    "reactions:read",
    "reactions:write",
    "files:write",
    "channels:history",
    "groups:history",
    "channels:read",
    "groups:read",
    "users:read",
)

__all__ = [
    "BLOCK_TYPES",
    "DEFAULT_SCOPES",
    "LIMITS",
    "MAX_BLOCKS",
    "MAX_BLOCKS_JSON",
    "MAX_TEXT",
    "ApiError",
    "Call",
    "Delivery",
    "FakeMessage",
    "FakeSlack",
    "ResponseUrlPost",
    "SlackToBot",
    "SocketModeHub",
    "UploadedFile",
    "block_errors",
]


# RecordingMixin must come before SlackToBot: it implements the message-store hooks that
# SlackToBot declares (`_record_user_message`, `_record_reaction`, `_message_json`).
class FakeSlack(
    ChatMethodsMixin,
    FileMethodsMixin,
    ConversationMethodsMixin,
    ViewMethodsMixin,
    ModalMethodsMixin,  # before SlackToBot: it issues the trigger_ids of what that sends
    InteractionsMixin,
    RecordingMixin,
    WorkspacesMixin,
    OAuthMixin,  # before the plumbing: it accepts the tokens it issued
    WebApiPlumbingMixin,
    SlackToBot,
):
    """The fake; see the module docstring. Use `async with FakeSlack() as slack:`."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-fake-bot-token",
        app_token: str = "xapp-1-A0APP-fake-app-token",
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
        team_id: str = "T0001",
        app_id: str = "A0APP",
        strict_channels: bool = False,
        scopes: Iterable[str] = DEFAULT_SCOPES,
        ts_base: int = 1_700_000_000,
    ) -> None:
        self.bot_token, self.app_token = bot_token, app_token
        self.bot_user_id, self.bot_id = bot_user_id, bot_id
        self.team_id, self.app_id = team_id, app_id
        self.verification_token = "fake-verification-token"
        self.strict_channels = strict_channels  # False: any id starting with C, G or D exists
        self.scopes = frozenset(scopes)  # the bot token's
        self.port = 0
        self.calls: list[Call] = []
        self.ephemerals: list[FakeMessage] = []
        self.uploaded_files: list[UploadedFile] = []
        self.response_url_posts: list[ResponseUrlPost] = []
        self.deliveries: list[Delivery] = []
        self.socket = SocketModeHub(app_id)
        self._messages: dict[tuple[str, str, str], FakeMessage] = {}  # (team, channel, ts)
        self._faults: dict[str, list[Fault]] = {}
        self._delays: dict[str, list[float]] = {}
        self._uploads: dict[str, UploadedFile] = {}  # upload key -> file
        self._response_ids: dict[str, str] = {}  # response_url id -> its team
        self._ts = ts_base * 1_000_000
        self._counter = 0
        self._runner: web.AppRunner | None = None
        self._methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.delete": self._delete,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.getPermalink": self._permalink,
            "reactions.add": self._reactions_add,
            "reactions.remove": self._reactions_remove,
            "reactions.get": self._reactions_get,
            "files.getUploadURLExternal": self._get_upload_url,
            "files.completeUploadExternal": self._complete_upload,
            "conversations.history": self._history,
            "conversations.replies": self._replies,
            "apps.connections.open": self._connections_open,
        }
        self._setup_workspaces()
        self._setup_views()
        self._setup_modals()
        self._setup_oauth()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> FakeSlack:
        app = web.Application(client_max_size=1024**3)
        self.add_oauth_routes(app)
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/upload/v1/{key}", self._handle_upload)
        app.router.add_post("/response/{rid}", self._handle_response_url)
        app.router.add_get("/files/{file_id}/{name}", self._handle_download)
        app.router.add_get("/socket", self.socket.handle)
        # A call held by delay_next must not hold the fake's shutdown for a minute.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        await self.socket.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    # ------------------------------------------------------------------ Web API methods

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._auth_test_of_token(
            {
                "url": "https://fake.slack.com/",
                "team": "Fake Team",
                "user": "draftroom",
                "team_id": self.team_id,
                "user_id": self.bot_user_id,
                "bot_id": self.bot_id,
                "is_enterprise_install": False,
            }
        )

    def _connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.socket.issue_url(f"ws://127.0.0.1:{self.port}/socket")}
