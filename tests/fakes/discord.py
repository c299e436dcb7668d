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
* ``enforce_nonce``: a repeated nonce (same channel and author, within ``nonce_window``) returns
  the existing message.
* Faults: ``fail_next("POST /channels/{id}/messages", status=429, retry_after=0.5, times=1)``.
* Records: ``calls`` (``Call``), ``messages(channel)``, ``message(channel, id)``, ``files(...)``,
  ``interaction_responses``, ``interactions``, ``reactions(channel, message, emoji)``,
  ``threads``, ``command_syncs``, ``identifies``, ``resumes``, ``gateway_connections``.
* Events: ``dispatch_interaction``, ``dispatch_component``, ``dispatch_message``,
  ``dispatch_reaction``, ``dispatch_event``; ``add_reaction_silently``, ``seed_message``;
  ``disconnect_clients``, ``request_reconnect``, ``invalidate_sessions``.
* The bot's own REST actions produce the gateway events Discord would send it
  (MESSAGE_CREATE/UPDATE/DELETE, MESSAGE_REACTION_ADD/REMOVE, THREAD_CREATE/UPDATE), filtered by
  the intents it identified with; MESSAGE_CONTENT is honoured.
"""

from __future__ import annotations

import asyncio
import bisect
import copy
import json
import math
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.discord_gateway import (
    INTENT_GUILD_MESSAGES,
    INTENT_GUILDS,
    ApiError,
    GatewayMixin,
    Snowflakes,
    bucket_hash,
    field_error,
    iso,
    json_response,
    nest_errors,
    too_long,
)

API_PREFIX = "/api/v10"

# Permission bits used to build roles.
_P = {
    "add_reactions": 1 << 6,
    "view_channel": 1 << 10,
    "send_messages": 1 << 11,
    "manage_messages": 1 << 13,
    "embed_links": 1 << 14,
    "attach_files": 1 << 15,
    "read_message_history": 1 << 16,
    "use_external_emojis": 1 << 18,
    "use_application_commands": 1 << 31,
    "manage_threads": 1 << 34,
    "create_public_threads": 1 << 35,
    "send_messages_in_threads": 1 << 38,
}
EVERYONE_PERMISSIONS = sum(
    v for k, v in _P.items() if k not in ("manage_messages", "manage_threads")
)
BOT_PERMISSIONS = sum(_P.values())

FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
FLAG_HAS_THREAD = 1 << 5
# Parsed request body and uploads, stored on the request by the middleware.
_BODY: Any = getattr(web, "RequestKey", lambda name, t: name)("fake_discord_body", object)
_FILES: Any = getattr(web, "RequestKey", lambda name, t: name)("fake_discord_files", list)
_MENTION_RE = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION_RE = re.compile(r"<@&(\d+)>")


@dataclass
class Call:
    """One REST request as the fake saw it; ``path`` is relative to ``api_url``."""

    method: str
    path: str
    route: str | None  # template, e.g. "/channels/{channel_id}/messages"
    json: Any
    query: dict[str, str]
    files: list[UploadedFile]
    time: float  # time.monotonic()
    status: int = 0
    response: Any = None


@dataclass
class UploadedFile:
    filename: str
    data: bytes
    content_type: str | None
    field: str
    attachment_id: int | None = None
    channel_id: int | None = None
    message_id: int | None = None


@dataclass
class Fault:
    pattern: re.Pattern[str]
    method: str | None
    status: int
    retry_after: float
    times: int
    global_: bool
    commit: bool
    via: bool
    hits: int = 0

    def matches(self, method: str, path: str, route: str | None) -> bool:
        if self.method is not None and self.method != method:
            return False
        return bool(self.pattern.fullmatch(path) or (route and self.pattern.fullmatch(route)))

    def response(self, route: str | None) -> web.Response:
        now = time.time()
        headers = {
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": f"{now + self.retry_after:.3f}",
            "X-RateLimit-Reset-After": f"{self.retry_after:.3f}",
            "X-RateLimit-Bucket": bucket_hash(route or ""),
        }
        if self.status == 429:
            headers["Retry-After"] = str(max(1, math.ceil(self.retry_after)))
            headers["X-RateLimit-Scope"] = "global" if self.global_ else "user"
            if self.global_:
                headers["X-RateLimit-Global"] = "true"
            if not self.via:  # Cloudflare ban: HTML, no Via header
                return web.Response(status=429, text="<html>banned</html>", headers=headers)
            headers["Via"] = "1.1 google"
            body = {
                "message": "You are being rate limited.",
                "retry_after": self.retry_after,
                "global": self.global_,
            }
            return json_response(body, 429, headers)
        if self.status in (502, 504):
            text = "<html><body>502 Bad Gateway</body></html>"
            return web.Response(status=self.status, text=text, content_type="text/html")
        body = {"message": f"{self.status}: Internal Server Error", "code": 0}
        return json_response(body, self.status, {"Via": "1.1 google"})


@dataclass
class InteractionResponse:
    """One POST to ``/interactions/{id}/{token}/callback`` (``status`` shows if accepted)."""

    interaction_id: int
    token: str
    type: int | None
    data: dict[str, Any] | None
    status: int
    time: float
    elapsed: float  # seconds since the interaction was dispatched


@dataclass
class FakeInteraction:
    id: int
    token: str
    type: int  # 2 command, 3 component, 4 autocomplete
    data: dict[str, Any]
    user_id: int
    channel_id: int
    payload: dict[str, Any]
    created: float
    response_type: int | None = None
    ephemeral: bool = False
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    followup_edited_loading: bool = False

    @property
    def name(self) -> str | None:
        return self.data.get("name")


class FakeDiscord(GatewayMixin):
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
            _role(guild_id, "@everyone", EVERYONE_PERMISSIONS, 0),
            _role(bot_role_id, bot_name, BOT_PERMISSIONS, 2, managed=True),
            _role(approver_role_id, "Approver", 0, 1),
        ]
        self.roles[1]["tags"] = {"bot_id": str(bot_user_id)}
        self.channels: dict[int, dict[str, Any]] = {}
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

    def add_text_channel(self, name: str, channel_id: int | None = None) -> int:
        channel_id = self.ids.next() if channel_id is None else channel_id
        self.channels[channel_id] = {
            "id": str(channel_id),
            "type": 0,
            "guild_id": str(self.guild_id),
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

    def fail_next(
        self,
        route: str | re.Pattern[str],
        status: int = 429,
        retry_after: float = 0.5,
        times: int = 1,
        global_: bool = False,
        *,
        commit: bool = False,
        via: bool = True,
    ) -> Fault:
        """Make the next ``times`` matching REST requests fail with ``status``.

        ``route`` is ``"METHOD /path"`` or ``"/path"`` relative to ``api_url``; ``{name}``
        matches one path segment and ``*`` anything, and a route template such as
        ``"POST /channels/{channel_id}/messages"`` matches every channel. A compiled regex is
        matched against the path. 429s carry ``retry_after``, ``Retry-After``, ``X-RateLimit-*``
        and ``Via: 1.1 google`` (``via=False`` imitates a Cloudflare ban: no Via, HTML body).
        ``commit=True`` performs the request before answering with the error, like a
        Discord-side timeout after the message was created.
        """
        method = None
        if isinstance(route, str):
            parts = route.split(" ", 1)
            if len(parts) == 2:
                method, route = parts[0].upper(), parts[1]
            pieces = re.split(r"(\{[^}/]*\}|\*)", route)
            regex = "".join(
                "[^/]+" if p.startswith("{") else ".*" if p == "*" else re.escape(p) for p in pieces
            )
            pattern = re.compile(regex)
        else:
            pattern = route
        fault = Fault(pattern, method, status, retry_after, times, global_, commit, via)
        self._faults.append(fault)
        return fault

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
        entry = self._reactions.get(message_id, {}).get(_emoji_key(emoji))
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

    # -- payload builders ---------------------------------------------------------------------

    def _ensure_user(self, user_id: int) -> None:
        if user_id not in self.users:
            self.add_user(user_id, f"user{user_id}")

    def _user_payload(self, user_id: int, *, full: bool = False) -> dict[str, Any]:
        user = self.users[user_id]
        payload: dict[str, Any] = {
            "id": str(user_id),
            "username": user["username"],
            "discriminator": "0",
            "global_name": None if user["bot"] else user["username"].title(),
            "avatar": None,
            "avatar_decoration_data": None,
            "banner": None,
            "accent_color": None,
            "public_flags": 0,
        }
        if user["bot"]:
            payload["bot"] = True
        if full:
            payload.update(flags=0, mfa_enabled=False, verified=True, email=None, locale="en-US")
        return payload

    def _member_payload(self, user_id: int, *, with_user: bool = True) -> dict[str, Any]:
        user = self.users[user_id]
        member: dict[str, Any] = {
            "nick": None,
            "avatar": None,
            "banner": None,
            "roles": [str(r) for r in user["roles"]],
            "joined_at": user["joined_at"],
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        if with_user:
            member["user"] = self._user_payload(user_id)
        return member

    def _permissions_of(self, user_id: int) -> int:
        if user_id == self.owner_id:
            return (1 << 50) - 1
        role_ids = {str(self.guild_id)} | {str(r) for r in self.users[user_id]["roles"]}
        perms = 0
        for role in self.roles:
            if role["id"] in role_ids:
                perms |= int(role["permissions"])
        return perms

    def _application_flags(self) -> int:
        flags = 1 << 23  # APPLICATION_COMMAND_BADGE
        limited = {"presences": 1 << 13, "members": 1 << 15, "message_content": 1 << 19}
        for name, bit in limited.items():
            if name in self.privileged_intents:
                flags |= bit
        return flags

    def _guild_payload(self) -> dict[str, Any]:
        return {
            "id": str(self.guild_id),
            "name": self.guild_name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "roles": copy.deepcopy(self.roles),
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
            "max_members": 25000000,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
        }

    def _guild_create_payload(self) -> dict[str, Any]:
        payload = self._guild_payload()
        payload.update(
            joined_at=self.users[self.bot_user_id]["joined_at"],
            large=False,
            unavailable=False,
            member_count=len(self.users),
            voice_states=[],
            members=[self._member_payload(uid) for uid in self.users],
            channels=[copy.deepcopy(c) for c in self.channels.values()],
            threads=[copy.deepcopy(t) for t in self.threads.values() if not _archived(t)],
            presences=[],
            stage_instances=[],
            guild_scheduled_events=[],
            soundboard_sounds=[],
        )
        return payload

    def _members_chunk(self, d: dict[str, Any]) -> dict[str, Any]:
        query = (d.get("query") or "").lower()
        wanted = d.get("user_ids")
        if wanted is not None:
            ids = [int(u) for u in (wanted if isinstance(wanted, list) else [wanted])]
            found = [u for u in ids if u in self.users]
            not_found = [str(u) for u in ids if u not in self.users]
        else:
            found = [u for u in self.users if self.users[u]["username"].startswith(query)]
            not_found = []
        limit = d.get("limit") or len(found)
        chunk: dict[str, Any] = {
            "guild_id": str(self.guild_id),
            "members": [self._member_payload(u) for u in found[:limit]],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": not_found,
        }
        if d.get("nonce") is not None:
            chunk["nonce"] = d["nonce"]
        if d.get("presences"):
            chunk["presences"] = []
        return chunk

    def _get_channel(self, channel_id: int) -> dict[str, Any]:
        channel = self.channels.get(channel_id) or self.threads.get(channel_id)
        if channel is None:
            raise ApiError(404, 10003, "Unknown Channel")
        return channel

    def _get_message(self, channel_id: int, message_id: int) -> dict[str, Any]:
        self._get_channel(channel_id)
        msg = self._msgs.get(message_id)
        if msg is None or msg["channel_id"] != str(channel_id):
            raise ApiError(404, 10008, "Unknown Message")
        return msg

    def _render(self, msg: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(msg)
        mid = int(msg["id"])
        reactions = []
        for entry in self._reactions.get(mid, {}).values():
            if not entry["users"]:
                continue
            reactions.append(
                {
                    "emoji": dict(entry["emoji"]),
                    "count": len(entry["users"]),
                    "count_details": {"burst": 0, "normal": len(entry["users"])},
                    "burst_colors": [],
                    "me_burst": False,
                    "burst_me": False,
                    "me": self.bot_user_id in entry["users"],
                    "burst_count": 0,
                }
            )
        if reactions:
            out["reactions"] = reactions
        if mid in self.threads:
            out["thread"] = copy.deepcopy(self.threads[mid])
        return out

    def _event_message(self, msg: dict[str, Any]) -> dict[str, Any]:
        out = self._render(msg)
        out["guild_id"] = str(self.guild_id)
        author = int(msg["author"]["id"])
        if author in self.users and msg.get("webhook_id") is None:
            out["member"] = self._member_payload(author, with_user=False)
        for mention in out.get("mentions", []):
            mention["member"] = self._member_payload(int(mention["id"]), with_user=False)
        return out

    # -- state changes ------------------------------------------------------------------------

    def _store_attachment(
        self,
        channel_id: int,
        filename: str,
        data: bytes,
        content_type: str | None,
        description: str | None,
        field_name: str = "files[0]",
    ) -> dict[str, Any]:
        att_id = self.ids.next()
        self.attachments[att_id] = UploadedFile(
            filename, data, content_type, field_name, att_id, channel_id
        )
        url = f"{self.base_url}/attachments/{channel_id}/{att_id}/{filename}"
        payload: dict[str, Any] = {
            "id": str(att_id),
            "filename": filename,
            "size": len(data),
            "url": url,
            "proxy_url": url,
            "content_type": _guess_type(filename)
            if content_type in (None, "application/octet-stream")
            else content_type,
        }
        if description:
            payload["description"] = description
        return payload

    def _attachments_from(
        self,
        channel_id: int,
        body: dict[str, Any],
        files: list[UploadedFile],
        existing: list[dict[str, Any]],
    ) -> list[dict[str, Any]]:
        meta = {}
        keep = []
        for item in body.get("attachments") or []:
            known = next((a for a in existing if a["id"] == str(item.get("id"))), None)
            if known is not None:
                keep.append(known)
            else:
                meta[str(item.get("id"))] = item
        if "attachments" not in body:
            keep = list(existing)
        for index, upload in enumerate(files):
            idx = re.search(r"\[(\d+)\]", upload.field)
            info = meta.get(idx.group(1) if idx else str(index), {})
            filename = info.get("filename") or upload.filename
            att = self._store_attachment(
                channel_id,
                filename,
                upload.data,
                upload.content_type,
                info.get("description"),
                upload.field,
            )
            keep.append(att)
        return keep

    async def _create_message(
        self,
        channel_id: int,
        author_id: int,
        body: dict[str, Any],
        files: list[UploadedFile],
        *,
        message_id: int | None = None,
        validate: bool = True,
        dispatch: bool = True,
        extra: dict[str, Any] | None = None,
        ephemeral: bool = False,
    ) -> dict[str, Any]:
        channel = self._get_channel(channel_id)
        if validate:
            _validate_message(body, files)
        self._ensure_user(author_id)
        nonce = body.get("nonce")
        if nonce is not None and body.get("enforce_nonce"):
            key = (channel_id, author_id, str(nonce))
            seen = self._nonces.get(key)
            if seen and time.monotonic() - seen[1] < self.nonce_window and seen[0] in self._msgs:
                return self._render(self._msgs[seen[0]])
        mid = self.ids.next() if message_id is None else message_id
        if mid in self._msgs:
            raise ValueError(f"message id {mid} already exists")
        content = body.get("content") or ""
        mentions = [
            self._user_payload(int(u)) for u in _MENTION_RE.findall(content) if int(u) in self.users
        ]
        msg: dict[str, Any] = {
            "id": str(mid),
            "type": 0,
            "channel_id": str(channel_id),
            "author": self._user_payload(author_id),
            "content": content,
            "timestamp": iso(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts", False)),
            "mention_everyone": "@everyone" in content,
            "mentions": mentions,
            "mention_roles": _ROLE_MENTION_RE.findall(content),
            "attachments": self._attachments_from(channel_id, body, files, []),
            "embeds": [_normalise_embed(e) for e in body.get("embeds") or []],
            "pinned": False,
            "flags": int(body.get("flags") or 0),
            "components": body.get("components") or [],
        }
        if nonce is not None:
            msg["nonce"] = str(nonce)
        if body.get("sticker_ids"):
            msg["sticker_items"] = []
        ref = body.get("message_reference")
        if ref and ref.get("message_id"):
            ref_id = int(ref["message_id"])
            msg["type"] = 19
            msg["message_reference"] = {
                "type": 0,
                "message_id": str(ref_id),
                "channel_id": str(ref.get("channel_id") or channel_id),
                "guild_id": str(self.guild_id),
            }
            if ref_id in self._msgs:
                msg["referenced_message"] = self._render(self._msgs[ref_id])
        msg.update(extra or {})
        self._msgs[mid] = msg
        for upload in files:
            upload.channel_id, upload.message_id = channel_id, mid
        for att in msg["attachments"]:
            self.attachments[int(att["id"])].message_id = mid
        if nonce is not None and body.get("enforce_nonce"):
            self._nonces[(channel_id, author_id, str(nonce))] = (mid, time.monotonic())
        if ephemeral:
            self._ephemeral.add(mid)
            return self._render(msg)
        bisect.insort(self._history.setdefault(channel_id, []), mid)
        channel["last_message_id"] = str(mid)
        if channel["type"] in (10, 11, 12):
            channel["message_count"] += 1
            channel["total_message_sent"] += 1
        if dispatch:
            await self.dispatch_event(
                "MESSAGE_CREATE", self._event_message(msg), intent=INTENT_GUILD_MESSAGES
            )
        return self._render(msg)

    async def _edit_message(
        self, msg: dict[str, Any], body: dict[str, Any], files: list[UploadedFile]
    ) -> dict[str, Any]:
        _validate_message(body, files, allow_empty=True)
        if "content" in body:
            msg["content"] = body["content"] or ""
        if "embeds" in body:
            msg["embeds"] = [_normalise_embed(e) for e in body["embeds"] or []]
        if "components" in body:
            msg["components"] = body["components"] or []
        if "flags" in body and body["flags"] is not None:
            keep = msg["flags"] & (FLAG_EPHEMERAL | FLAG_HAS_THREAD)
            msg["flags"] = int(body["flags"]) | keep
        if "attachments" in body or files:
            channel_id = int(msg["channel_id"])
            msg["attachments"] = self._attachments_from(channel_id, body, files, msg["attachments"])
            for att in msg["attachments"]:
                self.attachments[int(att["id"])].message_id = int(msg["id"])
        msg["flags"] &= ~FLAG_LOADING
        msg["edited_timestamp"] = iso()
        if int(msg["id"]) not in self._ephemeral:
            await self.dispatch_event(
                "MESSAGE_UPDATE", self._event_message(msg), intent=INTENT_GUILD_MESSAGES
            )
        return self._render(msg)

    async def _delete_message(self, msg: dict[str, Any]) -> None:
        mid, channel_id = int(msg["id"]), int(msg["channel_id"])
        del self._msgs[mid]
        self._reactions.pop(mid, None)
        history = self._history.get(channel_id, [])
        if mid in history:
            history.remove(mid)
            data = {"id": str(mid), "channel_id": str(channel_id), "guild_id": str(self.guild_id)}
            await self.dispatch_event("MESSAGE_DELETE", data, intent=INTENT_GUILD_MESSAGES)

    def _set_reaction(
        self, channel_id: int, message_id: int, emoji: str, user_id: int, add: bool
    ) -> bool:
        per_message = self._reactions.setdefault(message_id, {})
        key = _emoji_key(emoji)
        entry = per_message.setdefault(key, {"emoji": self._partial_emoji(emoji), "users": []})
        if add == (user_id in entry["users"]):
            return False
        if add:
            entry["users"].append(user_id)
        else:
            entry["users"].remove(user_id)
            if not entry["users"]:
                del per_message[key]
        return True

    @staticmethod
    def _partial_emoji(emoji: str) -> dict[str, Any]:
        parts = emoji.strip("<>").split(":")
        if len(parts) >= 2 and parts[-1].isdigit():
            return {"id": parts[-1], "name": parts[-2], "animated": parts[0] == "a"}
        return {"id": None, "name": emoji}

    def _find_command(self, name: str) -> tuple[dict[str, Any] | None, bool]:
        for scope in (self.guild_id, None):
            for cmd in self.commands.get(scope, []):
                if cmd["name"] == name and cmd.get("type", 1) == 1:
                    return cmd, scope is not None
        return None, False

    def _register_interaction(
        self,
        interaction_id: int,
        token: str,
        kind: int,
        data: dict[str, Any],
        user_id: int,
        payload: dict[str, Any],
    ) -> FakeInteraction:
        record = FakeInteraction(
            interaction_id,
            token,
            kind,
            data,
            user_id,
            int(payload["channel_id"]),
            payload,
            time.monotonic(),
        )
        self.interactions[interaction_id] = record
        self._by_token[token] = record
        return record

    # -- HTTP plumbing ------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if not request.path.startswith(API_PREFIX + "/"):
            return await handler(request)
        path = request.path[len(API_PREFIX) :]
        resource = request.match_info.route.resource
        route = None
        if request.match_info.http_exception is None and resource is not None:
            route = resource.canonical[len(API_PREFIX) :]
        call = Call(request.method, path, route, None, dict(request.query), [], time.monotonic())
        self.calls.append(call)
        try:
            call.json, call.files = await _read_body(request)
            request[_BODY] = call.json if call.json is not None else {}
            request[_FILES] = call.files
            response = await self._handle(request, handler, call)
        except ApiError as exc:
            response = json_response(exc.body, exc.status)
        call.status = response.status
        if isinstance(response, web.Response) and response.body:
            try:
                call.response = json.loads(response.body)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                call.response = response.text
        return response

    async def _handle(self, request: web.Request, handler: Any, call: Call) -> web.StreamResponse:
        exc = request.match_info.http_exception
        if exc is not None:
            raise ApiError(exc.status, 0, f"{exc.status}: {exc.reason}")
        public = call.path.startswith(("/interactions/", "/webhooks/"))
        if not public and request.headers.get("Authorization") != f"Bot {self.token}":
            raise ApiError(401, 0, "401: Unauthorized")
        fault = next(
            (f for f in self._faults if f.matches(call.method, call.path, call.route)), None
        )
        if fault is not None:
            fault.hits += 1
            fault.times -= 1
            if fault.times <= 0:
                self._faults.remove(fault)
            if not fault.commit:
                return fault.response(call.route)
        response = await handler(request)
        if fault is not None:
            return fault.response(call.route)
        now = time.time()
        response.headers.update(
            {
                "X-RateLimit-Limit": "50",
                "X-RateLimit-Remaining": "49",
                "X-RateLimit-Reset": f"{now + 1:.3f}",
                "X-RateLimit-Reset-After": "1.000",
                "X-RateLimit-Bucket": bucket_hash(f"{call.method} {call.route}"),
            }
        )
        return response

    def _routes(self) -> list[tuple[str, str, Any]]:
        ch = "/channels/{channel_id}"
        msg = ch + "/messages/{message_id}"
        app = "/applications/{application_id}"
        hook = "/webhooks/{application_id}/{token}"
        return [
            ("GET", "/users/@me", self._h_me),
            ("GET", "/users/{user_id}", self._h_user),
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

    def _check_guild(self, request: web.Request) -> None:
        if request.match_info["guild_id"] != str(self.guild_id):
            raise ApiError(404, 10004, "Unknown Guild")

    # -- REST handlers: users, application, gateway, commands ---------------------------------

    async def _h_me(self, request: web.Request) -> web.Response:
        return json_response(self._user_payload(self.bot_user_id, full=True))

    async def _h_user(self, request: web.Request) -> web.Response:
        user_id = _snowflake(request.match_info["user_id"])
        if user_id not in self.users:
            raise ApiError(404, 10013, "Unknown User")
        return json_response(self._user_payload(user_id))

    async def _h_application(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "id": str(self.application_id),
                "name": self.users[self.bot_user_id]["username"],
                "icon": None,
                "description": "",
                "summary": "",
                "type": None,
                "bot_public": False,
                "bot_require_code_grant": False,
                "verify_key": secrets.token_hex(32),
                "owner": self._user_payload(self.owner_id),
                "team": None,
                "flags": self._application_flags(),
                "bot": self._user_payload(self.bot_user_id),
                "approximate_guild_count": 1,
                "interactions_endpoint_url": None,
                "role_connections_verification_url": None,
                "redirect_uris": [],
                "tags": [],
                "integration_types_config": {"0": {}},
            }
        )

    async def _h_gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": self.gateway_url})

    async def _h_gateway_bot(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 1000 - self.identify_count}
        limit.update(reset_after=86400000, max_concurrency=1)
        return json_response({"url": self.gateway_url, "shards": 1, "session_start_limit": limit})

    def _command_scope(self, request: web.Request) -> int | None:
        if request.match_info["application_id"] != str(self.application_id):
            raise ApiError(403, 50001, "Missing Access")
        if "guild_id" in request.match_info:
            self._check_guild(request)
            return self.guild_id
        return None

    async def _h_get_commands(self, request: web.Request) -> web.Response:
        return json_response(self.commands.get(self._command_scope(request), []))

    async def _h_put_commands(self, request: web.Request) -> web.Response:
        scope = self._command_scope(request)
        body = request[_BODY]
        if not isinstance(body, list):
            raise ApiError.invalid_form({"_errors": [{"code": "LIST_TYPE_CONVERT"}]})
        errors: dict[str, Any] = {}
        if len(body) > 100:
            nest_errors([], too_long(100), errors)
        for i, cmd in enumerate(body):
            _validate_command(cmd, [str(i)], errors)
        if errors:
            raise ApiError.invalid_form(errors)
        stored = []
        for cmd in body:
            key = (scope, cmd["name"], cmd.get("type", 1))
            cmd_id = self._command_ids.setdefault(key, self.ids.next())
            item = {
                "id": str(cmd_id),
                "application_id": str(self.application_id),
                "version": str(self.ids.next()),
                "type": cmd.get("type", 1),
                "name": cmd["name"],
                "description": cmd.get("description", ""),
                "options": cmd.get("options", []),
                "default_member_permissions": cmd.get("default_member_permissions"),
                "dm_permission": cmd.get("dm_permission", True),
                "nsfw": cmd.get("nsfw", False),
                "contexts": cmd.get("contexts"),
                "integration_types": cmd.get("integration_types", [0]),
            }
            if scope is not None:
                item["guild_id"] = str(scope)
            stored.append(item)
        self.commands[scope] = stored
        self.command_syncs.append((scope, copy.deepcopy(body)))
        return json_response(stored)

    # -- REST handlers: interactions ----------------------------------------------------------

    async def _h_callback(self, request: web.Request) -> web.Response:
        body = request[_BODY]
        now = time.monotonic()
        record = self._by_token.get(request.match_info["token"])
        iid = _snowflake(request.match_info["interaction_id"])
        kind = body.get("type") if isinstance(body, dict) else None
        data = body.get("data") if isinstance(body, dict) else None
        entry = InteractionResponse(
            iid,
            request.match_info["token"],
            kind,
            data,
            0,
            now,
            now - (record.created if record else now),
        )
        self.interaction_responses.append(entry)
        try:
            response = await self._callback(record, iid, kind, data or {}, request)
        except ApiError as exc:
            entry.status = exc.status
            raise
        entry.status = response.status
        return response

    async def _callback(
        self,
        record: FakeInteraction | None,
        iid: int,
        kind: Any,
        data: dict[str, Any],
        request: web.Request,
    ) -> web.Response:
        if record is None or record.id != iid:
            raise ApiError(404, 10062, "Unknown interaction")
        if record.response_type is not None:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        if time.monotonic() - record.created > self.interaction_deadline:
            raise ApiError(404, 10062, "Unknown interaction")
        allowed = {2: {4, 5, 9}, 3: {4, 5, 6, 7, 9}, 4: {8}}[record.type]
        if kind not in allowed:
            error = field_error("INTERACTION_RESPONSE_TYPE_INVALID", "Invalid callback type.")
            raise ApiError.invalid_form({"type": error})
        files = request[_FILES]
        flags = int(data.get("flags") or 0)
        resource: dict[str, Any] = {"type": kind}
        message = None
        if kind == 4:
            _validate_message(data, files)
            message = await self._interaction_message(record, data, files, flags)
        elif kind == 5:
            loading = {"content": "", "flags": flags | FLAG_LOADING}
            message = await self._interaction_message(record, loading, [], flags)
        elif kind in (6, 7):
            message = self._msgs[int(record.payload["message"]["id"])]
            record.original_message_id = int(message["id"])
            if kind == 7:
                message = await self._edit_message(message, data, files)
        elif kind == 8:
            choices = data.get("choices") or []
            if len(choices) > 25:
                raise ApiError.invalid_form({"data": {"choices": too_long(25)}})
        record.response_type = kind
        record.ephemeral = bool(flags & FLAG_EPHEMERAL)
        if message is not None:
            resource["message"] = self._render(message)
        if request.query.get("with_response") not in ("1", "true", "True"):
            return web.Response(status=204)
        answer: dict[str, Any] = {
            "interaction": {
                "id": str(record.id),
                "type": record.type,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": record.ephemeral,
            },
            "resource": resource,
        }
        if message is not None:
            answer["interaction"]["response_message_id"] = message["id"]
        return json_response(answer)

    async def _interaction_message(
        self,
        record: FakeInteraction,
        body: dict[str, Any],
        files: list[UploadedFile],
        flags: int,
        *,
        followup: bool = False,
    ) -> dict[str, Any]:
        metadata: dict[str, Any] = {
            "id": str(record.id),
            "type": record.type,
            "user": self._user_payload(record.user_id),
            "authorizing_integration_owners": {"0": str(self.guild_id)},
        }
        if record.type == 2:
            metadata["name"] = record.name
            metadata["command_type"] = 1
        if record.type == 3:
            metadata["interacted_message_id"] = record.payload["message"]["id"]
        if followup and record.original_message_id is not None:
            metadata["original_response_message_id"] = str(record.original_message_id)
        extra: dict[str, Any] = {
            "type": 20 if record.type == 2 and not followup else 0,
            "webhook_id": str(self.application_id),
            "application_id": str(self.application_id),
            "interaction_metadata": metadata,
        }
        if record.type == 2:
            extra["interaction"] = {
                "id": str(record.id),
                "type": 2,
                "name": record.name,
                "user": self._user_payload(record.user_id),
            }
        body = dict(body, flags=flags | int(body.get("flags") or 0))
        created = await self._create_message(
            record.channel_id,
            self.bot_user_id,
            body,
            files,
            validate=False,
            extra=extra,
            ephemeral=bool(flags & FLAG_EPHEMERAL),
        )
        mid = int(created["id"])
        if followup:
            record.followup_ids.append(mid)
        else:
            record.original_message_id = mid
        return self._msgs[mid]

    def _webhook_record(self, request: web.Request) -> FakeInteraction:
        record = self._by_token.get(request.match_info["token"])
        if record is None or request.match_info["application_id"] != str(self.application_id):
            raise ApiError(404, 10015, "Unknown Webhook")
        if time.monotonic() - record.created > self.interaction_token_ttl:
            raise ApiError(401, 50027, "Invalid Webhook Token")
        if record.response_type is None:
            raise ApiError(404, 10015, "Unknown Webhook")
        return record

    async def _h_followup(self, request: web.Request) -> web.Response:
        record = self._webhook_record(request)
        body, files = request[_BODY], request[_FILES]
        _validate_message(body, files)
        original = self._msgs.get(record.original_message_id or 0)
        deferred_loading = (
            record.response_type == 5
            and not record.followup_edited_loading
            and original is not None
            and original["flags"] & FLAG_LOADING
        )
        if deferred_loading:
            # Discord (deprecated but live): the first follow-up after a deferred
            # "thinking" response edits that message instead of creating a new one.
            record.followup_edited_loading = True
            body = {k: v for k, v in body.items() if k != "flags"}
            message = await self._edit_message(original, body, files)
        else:
            flags = int(body.get("flags") or 0)
            created = await self._interaction_message(record, body, files, flags, followup=True)
            message = self._render(created)
        if request.query.get("wait") in ("true", "1", "True"):
            return json_response(message)
        return web.Response(status=204)

    async def _h_hook_message(self, request: web.Request) -> web.Response:
        record = self._webhook_record(request)
        raw = request.match_info["message_id"]
        mid = record.original_message_id if raw == "@original" else _snowflake(raw)
        known = [record.original_message_id, *record.followup_ids]
        if mid is None or mid not in known or mid not in self._msgs:
            raise ApiError(404, 10008, "Unknown Message")
        msg = self._msgs[mid]
        if request.method == "GET":
            return json_response(self._render(msg))
        if request.method == "DELETE":
            await self._delete_message(msg)
            return web.Response(status=204)
        return json_response(await self._edit_message(msg, request[_BODY], request[_FILES]))

    # -- REST handlers: channels and messages -------------------------------------------------

    async def _h_get_channel(self, request: web.Request) -> web.Response:
        return json_response(self._get_channel(_snowflake(request.match_info["channel_id"])))

    async def _h_patch_channel(self, request: web.Request) -> web.Response:
        channel = self._get_channel(_snowflake(request.match_info["channel_id"]))
        body = request[_BODY]
        for key in ("name", "topic", "rate_limit_per_user", "nsfw"):
            if key in body:
                channel[key] = body[key]
        if channel["type"] in (11, 12):
            meta = channel["thread_metadata"]
            for key in ("archived", "locked", "auto_archive_duration"):
                if key in body:
                    meta[key] = body[key]
            if "archived" in body:
                meta["archive_timestamp"] = iso()
            await self.dispatch_event("THREAD_UPDATE", copy.deepcopy(channel), intent=INTENT_GUILDS)
        else:
            await self.dispatch_event(
                "CHANNEL_UPDATE", copy.deepcopy(channel), intent=INTENT_GUILDS
            )
        return json_response(channel)

    async def _h_history(self, request: web.Request) -> web.Response:
        channel_id = _snowflake(request.match_info["channel_id"])
        self._get_channel(channel_id)
        query = request.query
        limit = int(query.get("limit", 50))
        if not 1 <= limit <= 100:
            raise ApiError.invalid_form({"limit": too_long(100)})
        ids = self._history.get(channel_id, [])
        if "before" in query:
            picked = [i for i in ids if i < int(query["before"])][-limit:]
        elif "after" in query:
            picked = [i for i in ids if i > int(query["after"])][:limit]
        elif "around" in query:
            pivot = bisect.bisect_left(ids, int(query["around"]))
            start = max(0, pivot - limit // 2)
            picked = ids[start : start + limit]
        else:
            picked = ids[-limit:]
        return json_response([self._render(self._msgs[i]) for i in reversed(picked)])

    async def _h_post_message(self, request: web.Request) -> web.Response:
        channel_id = _snowflake(request.match_info["channel_id"])
        self._get_channel(channel_id)
        body, files = request[_BODY], request[_FILES]
        created = await self._create_message(channel_id, self.bot_user_id, body, files)
        return json_response(created)

    async def _h_typing(self, request: web.Request) -> web.Response:
        self._get_channel(_snowflake(request.match_info["channel_id"]))
        return web.Response(status=204)

    def _message_from(self, request: web.Request) -> dict[str, Any]:
        channel_id = _snowflake(request.match_info["channel_id"])
        return self._get_message(channel_id, _snowflake(request.match_info["message_id"]))

    async def _h_get_message(self, request: web.Request) -> web.Response:
        return json_response(self._render(self._message_from(request)))

    async def _h_patch_message(self, request: web.Request) -> web.Response:
        msg = self._message_from(request)
        if msg["author"]["id"] != str(self.bot_user_id):
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        return json_response(await self._edit_message(msg, request[_BODY], request[_FILES]))

    async def _h_delete_message(self, request: web.Request) -> web.Response:
        await self._delete_message(self._message_from(request))
        return web.Response(status=204)

    # -- REST handlers: reactions -------------------------------------------------------------

    async def _h_put_reaction(self, request: web.Request) -> web.Response:
        msg = self._message_from(request)
        emoji = request.match_info["emoji"]
        if not emoji or emoji.isspace():
            raise ApiError(400, 10014, "Unknown Emoji")
        if self._set_reaction(
            int(msg["channel_id"]), int(msg["id"]), emoji, self.bot_user_id, True
        ):
            await self._dispatch_reaction_event(msg, emoji, self.bot_user_id, True)
        return web.Response(status=204)

    async def _h_delete_reaction(self, request: web.Request) -> web.Response:
        msg = self._message_from(request)
        emoji = request.match_info["emoji"]
        raw_user = request.match_info.get("user_id", "@me")
        user_id = self.bot_user_id if raw_user == "@me" else _snowflake(raw_user)
        if self._set_reaction(int(msg["channel_id"]), int(msg["id"]), emoji, user_id, False):
            await self._dispatch_reaction_event(msg, emoji, user_id, False)
        return web.Response(status=204)

    async def _h_reaction_users(self, request: web.Request) -> web.Response:
        msg = self._message_from(request)
        query = request.query
        try:
            limit = int(query.get("limit", 25))
        except ValueError:
            limit = 0
        if not 1 <= limit <= 100:
            message = "int value should be less than or equal to 100."
            raise ApiError.invalid_form({"limit": field_error("NUMBER_TYPE_MAX", message)})
        after = _snowflake(query.get("after", "0"))
        entry = self._reactions.get(int(msg["id"]), {}).get(_emoji_key(request.match_info["emoji"]))
        if entry is None:
            return json_response([])  # Discord returns [] for an emoji nobody used
        users = sorted(u for u in entry["users"] if u > after)[:limit]
        return json_response([self._user_payload(u) for u in users])

    async def _h_clear_reactions(self, request: web.Request) -> web.Response:
        msg = self._message_from(request)
        per_message = self._reactions.get(int(msg["id"]), {})
        emoji = request.match_info.get("emoji")
        if emoji is None:
            per_message.clear()
        else:
            per_message.pop(_emoji_key(emoji), None)
        return web.Response(status=204)

    # -- REST handlers: threads ---------------------------------------------------------------

    def _new_thread(self, thread_id: int, parent_id: int, body: dict[str, Any], kind: int):
        name = body.get("name") or ""
        errors: dict[str, Any] = {}
        if not 1 <= len(name) <= 100:
            nest_errors(
                ["name"],
                field_error("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."),
                errors,
            )
        archive = body.get("auto_archive_duration", 1440)
        if archive not in (60, 1440, 4320, 10080):
            nest_errors(
                ["auto_archive_duration"],
                field_error("BASE_TYPE_CHOICES", "Value must be one of {60, 1440, 4320, 10080}."),
                errors,
            )
        if errors:
            raise ApiError.invalid_form(errors)
        now = iso()
        thread = {
            "id": str(thread_id),
            "type": kind,
            "guild_id": str(self.guild_id),
            "parent_id": str(parent_id),
            "owner_id": str(self.bot_user_id),
            "name": name,
            "last_message_id": None,
            "message_count": 0,
            "member_count": 1,
            "rate_limit_per_user": body.get("rate_limit_per_user") or 0,
            "flags": 0,
            "total_message_sent": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": archive,
                "archive_timestamp": now,
                "locked": False,
                "create_timestamp": now,
            },
            "member": {
                "id": str(thread_id),
                "user_id": str(self.bot_user_id),
                "join_timestamp": now,
                "flags": 1,
            },
        }
        if kind == 12:
            thread["thread_metadata"]["invitable"] = bool(body.get("invitable", True))
        self.threads[thread_id] = thread
        return thread

    async def _h_thread_from_message(self, request: web.Request) -> web.Response:
        msg = self._message_from(request)
        parent = self._get_channel(int(msg["channel_id"]))
        if parent["type"] not in (0, 5):
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        mid = int(msg["id"])
        if mid in self.threads:
            raise ApiError(400, 160004, "A thread has already been created for this message")
        thread = self._new_thread(mid, int(parent["id"]), request[_BODY], 11)
        msg["flags"] |= FLAG_HAS_THREAD
        event = dict(copy.deepcopy(thread), newly_created=True)
        await self.dispatch_event("THREAD_CREATE", event, intent=INTENT_GUILDS)
        return json_response(thread, 201)

    async def _h_thread_without_message(self, request: web.Request) -> web.Response:
        parent = self._get_channel(_snowflake(request.match_info["channel_id"]))
        if parent["type"] not in (0, 5):
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        kind = int(request[_BODY].get("type") or 12)
        thread = self._new_thread(self.ids.next(), int(parent["id"]), request[_BODY], kind)
        event = dict(copy.deepcopy(thread), newly_created=True)
        await self.dispatch_event("THREAD_CREATE", event, intent=INTENT_GUILDS)
        return json_response(thread, 201)

    # -- REST handlers: guild -----------------------------------------------------------------

    async def _h_guild(self, request: web.Request) -> web.Response:
        self._check_guild(request)
        payload = self._guild_payload()
        if request.query.get("with_counts") in ("true", "1"):
            payload["approximate_member_count"] = len(self.users)
            payload["approximate_presence_count"] = 0
        return json_response(payload)

    async def _h_guild_channels(self, request: web.Request) -> web.Response:
        self._check_guild(request)
        return json_response(list(self.channels.values()))

    async def _h_guild_roles(self, request: web.Request) -> web.Response:
        self._check_guild(request)
        return json_response(self.roles)

    async def _h_guild_members(self, request: web.Request) -> web.Response:
        self._check_guild(request)
        if "members" not in self.privileged_intents:
            raise ApiError(403, 50001, "Missing Access")
        limit = int(request.query.get("limit", 1))
        after = int(request.query.get("after", 0))
        ids = sorted(u for u in self.users if u > after)[:limit]
        return json_response([self._member_payload(u) for u in ids])

    async def _h_guild_member(self, request: web.Request) -> web.Response:
        self._check_guild(request)
        user_id = _snowflake(request.match_info["user_id"])
        if user_id not in self.users:
            raise ApiError(404, 10007, "Unknown Member")
        return json_response(self._member_payload(user_id))

    async def _h_active_threads(self, request: web.Request) -> web.Response:
        self._check_guild(request)
        threads = [t for t in self.threads.values() if not _archived(t)]
        members = [dict(t["member"]) for t in threads]
        return json_response({"threads": threads, "members": members})

    async def _h_cdn(self, request: web.Request) -> web.Response:
        upload = self.attachments.get(_snowflake(request.match_info["attachment_id"]))
        if upload is None or upload.filename != request.match_info["filename"]:
            return web.Response(status=404, text="Not Found")
        content_type = upload.content_type or _guess_type(upload.filename)
        return web.Response(body=upload.data, content_type=content_type)


# -- module helpers ---------------------------------------------------------------------------


def _role(role_id: int, name: str, perms: int, position: int, managed: bool = False):
    return {
        "id": str(role_id),
        "name": name,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "icon": None,
        "unicode_emoji": None,
        "position": position,
        "permissions": str(perms),
        "managed": managed,
        "mentionable": False,
        "flags": 0,
    }


def _snowflake(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        error = field_error("NUMBER_TYPE_COERCE", f'Value "{raw}" is not snowflake.')
        raise ApiError.invalid_form({"id": error}) from None


def _emoji_key(emoji: str) -> str:
    parts = emoji.strip("<>").split(":")
    if len(parts) >= 2 and parts[-1].isdigit():
        return parts[-1]
    return emoji


def _archived(thread: dict[str, Any]) -> bool:
    return bool(thread["thread_metadata"]["archived"])


def _guess_type(filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return {
        "png": "image/png",
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "gif": "image/gif",
        "webp": "image/webp",
        "txt": "text/plain; charset=utf-8",
        "md": "text/markdown; charset=utf-8",
        "json": "application/json",
    }.get(ext, "application/octet-stream")


async def _read_body(request: web.Request) -> tuple[Any, list[UploadedFile]]:
    if not request.can_read_body:
        return None, []
    ctype = request.content_type
    if ctype == "multipart/form-data":
        payload: Any = None
        files: list[UploadedFile] = []
        reader = await request.multipart()
        async for part in reader:
            name = part.name or ""
            if name == "payload_json":
                payload = json.loads(await part.text())  # type: ignore[union-attr]
            elif part.filename is not None:
                data = await part.read()  # type: ignore[union-attr]
                ptype = part.headers.get("Content-Type")
                files.append(UploadedFile(part.filename, bytes(data), ptype, name))
        if len(files) > 10:
            raise ApiError.invalid_form({"files": too_long(10)})
        return payload, files
    raw = await request.read()
    if not raw:
        return None, []
    try:
        return json.loads(raw), []
    except ValueError:
        raise ApiError(400, 50109, "The request body contains invalid JSON.") from None


def _normalise_embed(embed: dict[str, Any]) -> dict[str, Any]:
    out = dict(embed)
    out.setdefault("type", "rich")
    out.setdefault("content_scan_version", 0)
    return out


def _validate_message(
    body: dict[str, Any], files: list[UploadedFile], *, allow_empty: bool = False
) -> None:
    """Discord's message limits; raises 50035 Invalid Form Body (or 50006 when empty)."""
    if not isinstance(body, dict):
        raise ApiError.invalid_form({"_errors": [{"code": "DICT_TYPE_CONVERT"}]})
    errors: dict[str, Any] = {}
    content = body.get("content") or ""
    if len(content) > 2000:
        nest_errors(["content"], too_long(2000), errors)
    nonce = body.get("nonce")
    if nonce is not None and len(str(nonce)) > 25:
        nest_errors(["nonce"], too_long(25), errors)
    embeds = body.get("embeds") or []
    if len(embeds) > 10:
        nest_errors(["embeds"], too_long(10), errors)
    total = 0
    for i, embed in enumerate(embeds):
        total += _validate_embed(embed, ["embeds", str(i)], errors)
    if total > 6000:
        nest_errors(
            ["embeds"],
            field_error("MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000"),
            errors,
        )
    attachments = body.get("attachments") or []
    if len(files) > 10 or len(attachments) > 10:
        nest_errors(["attachments"], too_long(10), errors)
    if errors:
        raise ApiError.invalid_form(errors)
    empty = not (
        content.strip()
        or embeds
        or files
        or attachments
        or body.get("sticker_ids")
        or body.get("components")
        or body.get("poll")
    )
    if empty and not allow_empty:
        raise ApiError(400, 50006, "Cannot send an empty message")


def _validate_embed(embed: dict[str, Any], path: list[str], errors: dict[str, Any]) -> int:
    limits = {"title": 256, "description": 4096}
    size = 0
    for key, limit in limits.items():
        text = embed.get(key) or ""
        size += len(text)
        if len(text) > limit:
            nest_errors([*path, key], too_long(limit), errors)
    for key, sub, limit in (("footer", "text", 2048), ("author", "name", 256)):
        text = (embed.get(key) or {}).get(sub) or ""
        size += len(text)
        if len(text) > limit:
            nest_errors([*path, key, sub], too_long(limit), errors)
    fields = embed.get("fields") or []
    if len(fields) > 25:
        nest_errors([*path, "fields"], too_long(25), errors)
    for j, fld in enumerate(fields):
        for key, limit in (("name", 256), ("value", 1024)):
            text = fld.get(key) or ""
            size += len(text)
            where = [*path, "fields", str(j), key]
            if not text:
                nest_errors(
                    where, field_error("BASE_TYPE_REQUIRED", "This field is required"), errors
                )
            elif len(text) > limit:
                nest_errors(where, too_long(limit), errors)
    return size


_COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")


def _validate_command(cmd: dict[str, Any], path: list[str], errors: dict[str, Any]) -> None:
    name = cmd.get("name") or ""
    kind = cmd.get("type", 1)
    if not _COMMAND_NAME.match(name) or (kind == 1 and name != name.lower()):
        message = "Command name is invalid"
        nest_errors(
            [*path, "name"], field_error("APPLICATION_COMMAND_INVALID_NAME", message), errors
        )
    if kind == 1 and not 1 <= len(cmd.get("description") or "") <= 100:
        message = "Must be between 1 and 100 in length."
        nest_errors([*path, "description"], field_error("BASE_TYPE_BAD_LENGTH", message), errors)
    options = cmd.get("options") or []
    if len(options) > 25:
        nest_errors([*path, "options"], too_long(25), errors)
    for i, option in enumerate(options):
        if option.get("type") in (1, 2):
            _validate_command(dict(option, type=1), [*path, "options", str(i)], errors)
