"""A local fake Mastodon instance on 127.0.0.1 (aiohttp), speaking what Mastodon.py sends.

    async with FakeMastodon(max_characters=500) as fake:
        MastodonDestination("https://mastodon.example", fake.token, api_base_url=fake.url)

It holds one account and keeps every status it is given (`statuses`, oldest first), so tests
count posts. Like Mastodon it answers a repeated `Idempotency-Key` with the first status (until
`forget_idempotency_keys()`, the hour passing), checks the text against max_characters (a URL
counts 23) and media against the instance's limits (422 with Mastodon's messages), processes
uploads asynchronously (POST /api/v2/media answers 202 with url null, GET /api/v1/media/:id
206 until done, and a status naming unprocessed media is refused), answers a bad token 401, and
sends X-RateLimit-* headers. `fail(status, ...)` injects a 429 (with the headers), a 5xx, or,
with `after=True`, a failure after the request was processed: the status exists, the client
saw an error. `answer_delay_s` holds the answer to a processed status post (a client timeout).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.local_server import LocalServer
from tests.fakes.mastodon_answers import (
    RATE_LIMIT,
    invalid,
    rate_headers,
    server_error,
    unprocessable,
)
from tests.fakes.mastodon_entities import (
    MEDIA_TYPES,
    account,
    countable_length,
    instance_v1,
    instance_v2,
    iso,
    status_html,
)
from tests.fakes.mastodon_media import MediaEndpoints

STATUSES = "/api/v1/statuses"


@dataclass
class Fault:
    status: int
    method: str
    path: str  # a prefix of the request path
    after: bool  # process the request, then answer this
    reset_in_s: float


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    form: dict[str, list[str]] = field(default_factory=dict)


class FakeMastodon(MediaEndpoints, LocalServer):
    def __init__(
        self,
        *,
        token: str = "LEAKCHECK-mastodon-token",
        username: str = "aiaaron",
        max_characters: int | None = 500,
        max_media_attachments: int | None = 4,
        image_size_limit: int | None = 16 * 1024 * 1024,
        video_size_limit: int = 99 * 1024 * 1024,
        supported_mime_types: tuple[str, ...] | None = MEDIA_TYPES,
        processing_polls: int = 1,
    ) -> None:
        self.token = token
        self.username = username
        self.account_id = "109"
        self.limits = {
            "max_characters": max_characters,
            "max_media_attachments": max_media_attachments,
            "image_size_limit": image_size_limit,
            "supported_mime_types": supported_mime_types,
        }
        self.video_size_limit = video_size_limit
        self.processing_polls = processing_polls
        self.statuses: list[dict[str, Any]] = []
        self.sources: dict[str, str] = {}
        self.media: dict[str, dict[str, Any]] = {}
        self.requests: list[Recorded] = []
        self.faults: deque[Fault] = deque()
        self.answer_delay_s = 0.0
        self._idempotency: dict[str, str] = {}
        self._polls_left: dict[str, int] = {}
        self._attached: set[str] = set()
        self._ids = itertools.count(113_000_000_000_000_001)

    # -- scripting ------------------------------------------------------------------------------
    def fail(
        self,
        status: int,
        *,
        times: int = 1,
        method: str = "POST",
        path: str = STATUSES,
        after: bool = False,
        reset_in_s: float = 90.0,
    ) -> None:
        self.faults.extend([Fault(status, method, path, after, reset_in_s)] * times)

    def forget_idempotency_keys(self) -> None:
        """The hour Mastodon keeps an Idempotency-Key has passed."""
        self._idempotency.clear()

    def add_status(self, text: str, *, created_at: float, media: int = 0) -> dict[str, Any]:
        """A status the account made earlier (not through the API under test)."""
        ids = [self._new_media("image", "", ready=True)["id"] for _ in range(media)]
        return self._create(text, ids, created_at)

    def requests_to(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path == path]

    # -- server ---------------------------------------------------------------------------------
    def application(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=256 * 1024 * 1024)
        r = app.router
        for version, handler in (("v1", self._instance_v1), ("v2", self._instance_v2)):
            r.add_get(f"/api/{version}/instance", handler)
            r.add_get(f"/api/{version}/instance/", handler)
        r.add_get("/api/v1/accounts/verify_credentials", self._verify_credentials)
        r.add_get("/api/v1/accounts/{id}/statuses", self._account_statuses)
        r.add_post("/api/v2/media", self._media_post)
        r.add_get("/api/v1/media/{id}", self._media_get)
        r.add_post(STATUSES, self._status_post)
        r.add_get(STATUSES + "/{id}/source", self._status_source)
        return app

    @property
    def domain(self) -> str:
        return self.url.split("://", 1)[1]

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        form: dict[str, list[str]] = {}
        if request.method == "POST":
            for name, value in (await request.post()).items():
                text = value if isinstance(value, str) else f"<file {value.filename}>"
                form.setdefault(name, []).append(text)
        self.requests.append(
            Recorded(
                request.method,
                request.path,
                dict(request.query),
                {k.lower(): v for k, v in request.headers.items()},
                form,
            )
        )
        public = request.path.startswith("/api/v1/instance") or request.path.startswith(
            "/api/v2/instance"
        )
        if not public and request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"error": "The access token is invalid"}, status=401)
        fault = self._take_fault(request)
        if fault is not None and fault.status == 429:
            return web.json_response(
                {"error": "Too many requests"},
                status=429,
                headers=rate_headers(0, fault.reset_in_s),
            )
        if fault is not None and not fault.after:
            return server_error(fault.status)
        response = await handler(request)
        if fault is not None:
            return server_error(fault.status)  # processed, and the answer is lost
        response.headers.update(rate_headers(RATE_LIMIT - len(self.requests), 300))
        return response

    def _take_fault(self, request: web.Request) -> Fault | None:
        head = self.faults[0] if self.faults else None
        if (
            head is not None
            and request.method == head.method
            and request.path.startswith(head.path)
        ):
            return self.faults.popleft()
        return None

    # -- instance and account -------------------------------------------------------------------
    async def _instance_v1(self, request: web.Request) -> web.Response:
        return web.json_response(instance_v1(self.url, self.domain))

    async def _instance_v2(self, request: web.Request) -> web.Response:
        statuses = {
            "max_characters": self.limits["max_characters"],
            "max_media_attachments": self.limits["max_media_attachments"],
            "characters_reserved_per_url": 23,
        }
        media = {
            "supported_mime_types": self.limits["supported_mime_types"],
            "image_size_limit": self.limits["image_size_limit"],
            "image_matrix_limit": 33_177_600,
            "video_size_limit": self.video_size_limit,
        }
        configuration = {
            "urls": {"streaming": self.url.replace("http", "ws", 1)},
            "statuses": {k: v for k, v in statuses.items() if v is not None},
            "media_attachments": {k: v for k, v in media.items() if v is not None},
        }
        return web.json_response(instance_v2(self.domain, configuration))

    def _account(self) -> dict[str, Any]:
        return account(self.url, self.account_id, self.username, len(self.statuses))

    async def _verify_credentials(self, request: web.Request) -> web.Response:
        me = self._account() | {"source": {"privacy": "public", "sensitive": False, "note": ""}}
        return web.json_response(me)

    async def _account_statuses(self, request: web.Request) -> web.Response:
        if request.match_info["id"] != self.account_id:
            return web.json_response({"error": "Record not found"}, status=404)
        limit = min(int(request.query.get("limit", "20")), 40)
        return web.json_response(list(reversed(self.statuses))[:limit])

    # -- statuses -------------------------------------------------------------------------------
    async def _status_post(self, request: web.Request) -> web.Response:
        key = request.headers.get("Idempotency-Key")
        if key and key in self._idempotency:
            return web.json_response(self._status(self._idempotency[key]))
        form = await request.post()
        text = str(form.get("status") or "")
        media_ids = [str(m) for m in form.getall("media_ids[]", [])]
        refused = self._refusal(text, media_ids)
        if refused:
            return invalid(refused) if refused.startswith("Text") else unprocessable(refused)
        status = self._create(text, media_ids, time.time())
        if key:
            self._idempotency[key] = status["id"]
        if self.answer_delay_s:
            await asyncio.sleep(self.answer_delay_s)
        return web.json_response(status)

    def _refusal(self, text: str, media_ids: list[str]) -> str:
        if not text.strip() and not media_ids:
            return "Text can't be blank"
        max_chars = self.limits["max_characters"] or 500
        if countable_length(text, 23) > max_chars:
            return f"Text character limit of {max_chars} exceeded"
        if len(media_ids) > (self.limits["max_media_attachments"] or 4):
            return f"Cannot attach more than {self.limits['max_media_attachments'] or 4} files"
        for media_id in media_ids:
            if media_id not in self.media or media_id in self._attached:
                return f"Media {media_id} not found. Already attached to another post?"
            if self.media[media_id]["url"] is None:
                return (
                    "Cannot attach files that have not finished processing. Try again in a moment!"
                )
        return ""

    def _create(self, text: str, media_ids: list[str], created_at: float) -> dict[str, Any]:
        status_id = str(next(self._ids))
        self._attached.update(media_ids)
        status = {
            "id": status_id,
            "created_at": iso(created_at),
            "uri": f"{self.url}/users/{self.username}/statuses/{status_id}",
            "url": f"{self.url}/@{self.username}/{status_id}",
            "visibility": "public",
            "sensitive": False,
            "spoiler_text": "",
            "language": "en",
            "content": status_html(text),
            "media_attachments": [self.media[m] for m in media_ids],
            "mentions": [],
            "tags": [],
            "emojis": [],
            "reblog": None,
            "in_reply_to_id": None,
            "account": self._account(),
        }
        self.statuses.append(status)
        self.sources[status_id] = text
        return status

    def _status(self, status_id: str) -> dict[str, Any]:
        return next(s for s in self.statuses if s["id"] == status_id)

    async def _status_source(self, request: web.Request) -> web.Response:
        status_id = request.match_info["id"]
        if status_id not in self.sources:
            return web.json_response({"error": "Record not found"}, status=404)
        return web.json_response(
            {"id": status_id, "text": self.sources[status_id], "spoiler_text": ""}
        )
