"""A fake Discord (REST API v10 + gateway) on 127.0.0.1 for tests that run real discord.py.

``FakeDiscord`` is a real aiohttp server on an ephemeral port; the gateway half lives in
``tests/fakes/discord_gateway.py``. Nothing is mocked inside discord.py: the library talks
HTTP and websockets to the fake exactly as it would to Discord.

Pointing discord.py 2.7.1 at the fake (checked against its source)
--------------------------------------------------------------------
1. REST: ``discord.http.Route.BASE = fake.api_url`` (``http://127.0.0.1:PORT/api/v10``).
   ``Route.__init__`` reads the class attribute for every request, so set it before
   ``login()``. Interaction callbacks and follow-ups (``discord/webhook/async_.py``) build the
   same ``Route`` and follow it too.
2. Gateway: ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)``
   (``ws://127.0.0.1:PORT/gateway``). A plain ``Client``/``commands.Bot`` never calls
   ``GET /gateway/bot``: ``Client.connect()`` uses ``DEFAULT_GATEWAY`` for the first
   connection and after an INVALID_SESSION, and READY's ``resume_gateway_url`` (which the fake
   points at itself, ``/resume-gateway``) for RESUMEs. Only ``AutoShardedClient`` asks
   ``GET /gateway/bot``; the fake answers it with ``gateway_url`` and 1 shard.
3. Compression: ``DiscordWebSocket.from_client`` always asks for
   ``?v=10&encoding=json&compress=zlib-stream`` (``zstd-stream`` if ``zstandard`` is
   installed); there is no public switch (``compress=False`` is only a ``from_client``
   argument). The fake supports it (binary zlib-stream frames), and since discord.py only
   decompresses binary frames, ``FakeDiscord(gateway_compression=False)`` (plain JSON text
   frames) works as well.
4. Timing: ``on_ready`` fires ``guild_ready_timeout`` (default 2.0 s) after the last
   GUILD_CREATE; pass ``guild_ready_timeout=0.1`` to the ``Client``/``Bot`` in tests. A
   re-IDENTIFY after an invalid session sleeps 5 s in ``Client.before_identify_hook``.
5. Nothing else: ``await client.start(fake.token)`` (or ``login`` + ``connect``). Restore
   ``Route.BASE``/``DEFAULT_GATEWAY`` afterwards (e.g. with pytest's ``monkeypatch``).

What the fake provides
----------------------
* ``async with FakeDiscord() as fake`` (or ``start()``/``stop()``); ``api_url``,
  ``gateway_url``, ``token`` (``Authorization: Bot <token>``, else 401), ``application_id``
  (== ``bot_user_id`` as for modern bots), ``guild_id``, ``channel_id``, ``approver_id`` (has
  the ``approver_role_id`` role), ``non_approver_id``, ``owner_id``.
* REST routes discord.py uses for: login, application info, command sync, interaction
  callbacks and follow-ups, channel messages (JSON and multipart), edits, deletes, history,
  reactions, threads, channel/guild/member/role lookups, typing. Discord's error bodies and
  limits (50035 Invalid Form Body, 50006, 10003, 10008, 10062, 40060, 160004 ...).
* Uploads: files of one request totalling more than ``upload_limit`` (10 MiB; 50 or 100 MiB
  with ``premium_tier=2`` or ``3``, sent in GUILD_CREATE) are refused with 413 (40005).
* ``enforce_nonce``: a repeated nonce (same channel and author, within ``nonce_window``) returns
  the existing message.
* Faults: ``fail_next("POST /channels/{id}/messages", status=429, retry_after=0.5, times=1)``.
* Records: ``calls`` (``Call``), ``messages(channel)``, ``message(channel, id)``, ``files(...)``,
  ``interaction_responses``, ``interactions``, ``reactions(channel, message, emoji)``,
  ``threads``, ``command_syncs``, ``identifies``, ``resumes``, ``gateway_connections``.
* Events: ``dispatch_interaction``, ``dispatch_component``, ``dispatch_message``,
  ``dispatch_reaction``, ``dispatch_event``; ``add_reaction_silently``, ``seed_message``;
  ``disconnect_clients``, ``request_reconnect``, ``invalidate_sessions``.
* Modals and permissions (``discord_modals``): a MODAL callback is checked and recorded
  (``modals``, ``open_modal(user)``), ``submit_modal(values, user)`` sends the MODAL_SUBMIT;
  ``give_permissions(user, MANAGE_GUILD)``; a command's ``default_member_permissions`` hide it
  from others unless ``allow_command(name, user)``.
* The bot's own REST actions produce the gateway events Discord would send it
  (MESSAGE_CREATE/UPDATE/DELETE, MESSAGE_REACTION_ADD/REMOVE, THREAD_CREATE/UPDATE), filtered by
  the intents it identified with; MESSAGE_CONTENT is honoured.

Module layout
-------------
``discord.py`` (this file) holds ``FakeDiscord``: state, lifecycle, routes and the test-facing
helpers. The rest is split by responsibility into mixins and helpers:
``discord_records`` (``Call``, ``UploadedFile``, interactions, snowflakes, timestamps),
``discord_payloads`` (JSON for users, members, guild, messages), ``discord_messages``
(messages, channels, attachments), ``discord_interactions`` (commands, callbacks, follow-ups),
``discord_modals`` (modals, who sees a command), ``discord_reactions_threads``,
``discord_lookup_routes`` (users, application, guild), ``discord_limits`` (error bodies and
validation), ``discord_http`` (middleware, request bodies), ``discord_faults``
(``fail_next``), and the gateway: ``discord_gateway``, ``discord_gateway_protocol`` and
``discord_user_events``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from tests.fakes.discord_faults import Fault, FaultInjectionMixin
from tests.fakes.discord_gateway import GatewayMixin
from tests.fakes.discord_gateway_protocol import INTENT_GUILD_MESSAGES, INTENT_GUILDS
from tests.fakes.discord_guild_list import GuildListRoutesMixin
from tests.fakes.discord_http import API_PREFIX, RestPlumbingMixin, bucket_hash, json_response
from tests.fakes.discord_interactions import InteractionRoutesMixin
from tests.fakes.discord_limits import ApiError, field_error, nest_errors, too_long
from tests.fakes.discord_lookup_routes import LookupRoutesMixin
from tests.fakes.discord_messages import (
    FLAG_EPHEMERAL,
    FLAG_HAS_THREAD,
    FLAG_LOADING,
    MessageRoutesMixin,
)
from tests.fakes.discord_modals import MANAGE_GUILD, ModalsMixin, ShownModal
from tests.fakes.discord_payloads import (
    BOT_PERMISSIONS,
    EVERYONE_PERMISSIONS,
    PayloadBuildersMixin,
    role_payload,
)
from tests.fakes.discord_reactions_threads import ReactionThreadRoutesMixin, emoji_key
from tests.fakes.discord_records import (
    Call,
    FakeInteraction,
    InteractionResponse,
    Snowflakes,
    UploadedFile,
    iso,
)

__all__ = [
    "API_PREFIX",
    "BOT_PERMISSIONS",
    "EVERYONE_PERMISSIONS",
    "FLAG_EPHEMERAL",
    "FLAG_HAS_THREAD",
    "FLAG_LOADING",
    "INTENT_GUILDS",
    "INTENT_GUILD_MESSAGES",
    "MANAGE_GUILD",
    "ApiError",
    "Call",
    "FakeDiscord",
    "FakeInteraction",
    "Fault",
    "GatewayMixin",
    "InteractionResponse",
    "ShownModal",
    "Snowflakes",
    "UploadedFile",
    "bucket_hash",
    "field_error",
    "iso",
    "json_response",
    "nest_errors",
    "too_long",
]


MIB = 1024 * 1024
UPLOAD_LIMITS = {0: 10 * MIB, 1: 10 * MIB, 2: 50 * MIB, 3: 100 * MIB}


class FakeDiscord(
    MessageRoutesMixin,
    InteractionRoutesMixin,
    ModalsMixin,
    ReactionThreadRoutesMixin,
    LookupRoutesMixin,
    GuildListRoutesMixin,
    PayloadBuildersMixin,
    RestPlumbingMixin,
    FaultInjectionMixin,
    GatewayMixin,
):
    def __init__(
        self,
        *,
        token: str = "MTIwMDAwMDAwMDAwMDAwMDAwMQ.fake.draftroom-test-token",
        bot_user_id: int = 1200000000000000001,
        application_id: int | None = None,
        guild_id: int = 1200000000000000100,
        channel_id: int = 1200000000000000200,
        owner_id: int = 1200000000000000300,
        approver_id: int = 1200000000000000301,
        non_approver_id: int = 1200000000000000302,
        approver_role_id: int = 1200000000000000401,
        bot_role_id: int = 1200000000000000402,
        channel_name: str = "drafts",
        guild_name: str = "Draftroom Test",
        bot_name: str = "draftroom",
        host: str = "127.0.0.1",
        heartbeat_interval_ms: int = 41250,
        interaction_deadline: float = 3.0,
        interaction_token_ttl: float = 15 * 60.0,
        nonce_window: float = 5 * 60.0,
        gateway_compression: bool = True,
        privileged_intents: tuple[str, ...] = ("message_content", "members"),
        premium_tier: int = 0,
    ) -> None:
        self.token = token
        self.bot_user_id = bot_user_id
        self.application_id = bot_user_id if application_id is None else application_id
        self.guild_id = guild_id
        self.channel_id = channel_id
        self.owner_id = owner_id
        self.approver_id = approver_id
        self.non_approver_id = non_approver_id
        self.approver_role_id = approver_role_id
        self.bot_role_id = bot_role_id
        self.guild_name = guild_name
        self.host = host
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.interaction_deadline = interaction_deadline
        self.interaction_token_ttl = interaction_token_ttl
        self.nonce_window = nonce_window
        self.gateway_compression = gateway_compression
        self.privileged_intents = frozenset(privileged_intents)
        self.premium_tier = premium_tier
        self.ids = Snowflakes()
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._created = time.time()

        self.users: dict[int, dict[str, Any]] = {}
        self.add_user(bot_user_id, bot_name, bot=True, roles=[bot_role_id])
        self.add_user(owner_id, "guild-owner")
        self.add_user(approver_id, "approver", roles=[approver_role_id])
        self.add_user(non_approver_id, "bystander")
        self.roles: list[dict[str, Any]] = [
            role_payload(guild_id, "@everyone", EVERYONE_PERMISSIONS, 0),
            role_payload(bot_role_id, bot_name, BOT_PERMISSIONS, 2, managed=True),
            role_payload(approver_role_id, "Approver", 0, 1),
        ]
        self.roles[1]["tags"] = {"bot_id": str(bot_user_id)}
        self.channels: dict[int, dict[str, Any]] = {}
        # Servers besides `guild_id` (`add_guild`): same members and roles, one channel each.
        self.extra_guilds: dict[int, str] = {}
        self.add_text_channel(channel_name, channel_id)
        self.threads: dict[int, dict[str, Any]] = {}

        self.calls: list[Call] = []
        self.interaction_responses: list[InteractionResponse] = []
        self.interactions: dict[int, FakeInteraction] = {}
        self.command_syncs: list[tuple[int | None, list[dict[str, Any]]]] = []
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.attachments: dict[int, UploadedFile] = {}
        self._command_ids: dict[tuple[int | None, str, int], int] = {}
        self._by_token: dict[str, FakeInteraction] = {}
        self._msgs: dict[int, dict[str, Any]] = {}
        self._ephemeral: set[int] = set()
        self._history: dict[int, list[int]] = {}
        self._reactions: dict[int, dict[str, dict[str, Any]]] = {}
        self._nonces: dict[tuple[int, int, str], tuple[int, float]] = {}
        self._faults: list[Fault] = []
        self._init_modals()
        self._init_gateway()

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> FakeDiscord:
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._ws_handler)
        app.router.add_get("/resume-gateway", self._ws_handler)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._h_cdn)
        for method, route, handler in self._routes():
            app.router.add_route(method, API_PREFIX + route, handler)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        for conn in list(self._live):
            if conn.session is not None:
                conn.session.connection = None
            await conn.close(1001)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def upload_limit(self) -> int:
        """Bytes of files one message may carry: 10 MiB, more on a boosted server (tier 2, 3)."""
        return UPLOAD_LIMITS[self.premium_tier]

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/resume-gateway"

    # -- routes -------------------------------------------------------------------------------

    def _routes(self) -> list[tuple[str, str, Any]]:
        ch = "/channels/{channel_id}"
        msg = ch + "/messages/{message_id}"
        app = "/applications/{application_id}"
        hook = "/webhooks/{application_id}/{token}"
        return [
            ("GET", "/users/@me", self._h_me),
            ("GET", "/users/{user_id}", self._h_user),
            ("POST", "/users/@me/channels", self._h_open_dm),
            ("GET", "/users/@me/guilds", self._h_my_guilds),
            ("GET", "/oauth2/applications/@me", self._h_application),
            ("GET", "/applications/@me", self._h_application),
            ("GET", "/gateway", self._h_gateway),
            ("GET", "/gateway/bot", self._h_gateway_bot),
            ("GET", app + "/commands", self._h_get_commands),
            ("PUT", app + "/commands", self._h_put_commands),
            ("GET", app + "/guilds/{guild_id}/commands", self._h_get_commands),
            ("PUT", app + "/guilds/{guild_id}/commands", self._h_put_commands),
            ("POST", "/interactions/{interaction_id}/{token}/callback", self._h_callback),
            ("POST", hook, self._h_followup),
            ("GET", hook + "/messages/{message_id}", self._h_hook_message),
            ("PATCH", hook + "/messages/{message_id}", self._h_hook_message),
            ("DELETE", hook + "/messages/{message_id}", self._h_hook_message),
            ("GET", ch, self._h_get_channel),
            ("PATCH", ch, self._h_patch_channel),
            ("GET", ch + "/messages", self._h_history),
            ("POST", ch + "/messages", self._h_post_message),
            ("POST", ch + "/typing", self._h_typing),
            ("POST", ch + "/threads", self._h_thread_without_message),
            ("GET", msg, self._h_get_message),
            ("PATCH", msg, self._h_patch_message),
            ("DELETE", msg, self._h_delete_message),
            ("POST", msg + "/threads", self._h_thread_from_message),
            ("PUT", msg + "/reactions/{emoji}/@me", self._h_put_reaction),
            ("DELETE", msg + "/reactions/{emoji}/@me", self._h_delete_reaction),
            ("DELETE", msg + "/reactions/{emoji}/{user_id}", self._h_delete_reaction),
            ("GET", msg + "/reactions/{emoji}", self._h_reaction_users),
            ("DELETE", msg + "/reactions/{emoji}", self._h_clear_reactions),
            ("DELETE", msg + "/reactions", self._h_clear_reactions),
            ("GET", "/guilds/{guild_id}", self._h_guild),
            ("GET", "/guilds/{guild_id}/channels", self._h_guild_channels),
            ("GET", "/guilds/{guild_id}/roles", self._h_guild_roles),
            ("GET", "/guilds/{guild_id}/members", self._h_guild_members),
            ("GET", "/guilds/{guild_id}/members/{user_id}", self._h_guild_member),
            ("GET", "/guilds/{guild_id}/threads/active", self._h_active_threads),
        ]

    # -- test-facing helpers ------------------------------------------------------------------

    def add_user(
        self, user_id: int, username: str, *, bot: bool = False, roles: list[int] | None = None
    ) -> None:
        """Add a guild member (it appears in GUILD_CREATE for later IDENTIFYs)."""
        self.users[user_id] = {
            "username": username,
            "bot": bot,
            "roles": list(roles or []),
            "joined_at": iso(self._created),
        }

    def add_guild(self, guild_id: int, name: str, channel_name: str = "drafts") -> int:
        """Another server the bot is in (in READY and a GUILD_CREATE of the shard that owns it,
        its events only to that shard), with one text channel, whose id is returned."""
        self.extra_guilds[guild_id] = name
        return self.add_text_channel(channel_name, guild_id=guild_id)

    @property
    def guild_ids(self) -> list[int]:
        return [self.guild_id, *self.extra_guilds]

    def add_text_channel(
        self, name: str, channel_id: int | None = None, *, guild_id: int | None = None
    ) -> int:
        channel_id = self.ids.next() if channel_id is None else channel_id
        self.channels[channel_id] = {
            "id": str(channel_id),
            "type": 0,
            "guild_id": str(self.guild_id if guild_id is None else guild_id),
            "name": name,
            "position": len(self.channels),
            "permission_overwrites": [],
            "parent_id": None,
            "topic": None,
            "nsfw": False,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "flags": 0,
        }
        return channel_id

    def messages(self, channel_id: int) -> list[dict[str, Any]]:
        """Current state of a channel's (or thread's) messages, oldest first."""
        return [self._render(self._msgs[mid]) for mid in self._history.get(channel_id, [])]

    def message(self, channel_id: int, message_id: int) -> dict[str, Any]:
        return self._render(self._get_message(channel_id, message_id))

    def files(self, channel_id: int, message_id: int) -> list[UploadedFile]:
        """Uploaded files of a message (filename, bytes, content type)."""
        msg = self._get_message(channel_id, message_id)
        return [self.attachments[int(a["id"])] for a in msg["attachments"]]

    def reactions(self, channel_id: int, message_id: int, emoji: str = "✅") -> list[int]:
        """User ids that reacted with ``emoji``, ordered by id (as Get Reactions lists them)."""
        self._get_message(channel_id, message_id)
        entry = self._reactions.get(message_id, {}).get(emoji_key(emoji))
        return sorted(entry["users"]) if entry else []

    def add_reaction_silently(
        self, channel_id: int, message_id: int, emoji: str, user_id: int
    ) -> None:
        """Add a reaction visible over REST without sending any gateway event."""
        self._get_message(channel_id, message_id)
        self._ensure_user(user_id)
        self._set_reaction(channel_id, message_id, emoji, user_id, True)

    async def seed_message(
        self, channel_id: int, content: str = "", author_id: int | None = None, **body: Any
    ) -> dict[str, Any]:
        """Create a message without any gateway event (it existed before the test)."""
        author_id = self.bot_user_id if author_id is None else author_id
        body = {"content": content, **body}
        return await self._create_message(channel_id, author_id, body, [], dispatch=False)

    def find_calls(self, method: str | None = None, route: str | None = None) -> list[Call]:
        """Calls filtered by method and route template (or concrete path)."""
        return [
            c
            for c in self.calls
            if (method is None or c.method == method)
            and (route is None or route in (c.route, c.path))
        ]

    async def wait_for(
        self,
        predicate: Callable[[Call], bool],
        timeout: float = 5.0,
    ) -> Call:
        """Poll ``calls`` until one satisfies ``predicate``; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            for call in list(self.calls):
                if predicate(call):
                    return call
            if time.monotonic() > deadline:
                recent = [(c.method, c.path, c.status) for c in self.calls[-10:]]
                raise TimeoutError(f"no matching call within {timeout}s; last calls: {recent}")
            await asyncio.sleep(0.01)

    async def wait_until(
        self,
        condition: Callable[[], Any],
        timeout: float = 5.0,
    ) -> Any:
        """Poll any condition on the fake's state until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while not (value := condition()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met within {timeout}s")
            await asyncio.sleep(0.01)
        return value
