"""A local fake of X's API v2, served on 127.0.0.1 by aiohttp: the requests tweepy's Client sends
(its cassettes: create_tweet, get_me, get_users_tweets) and the v2 media upload.

It checks the OAuth 1.0a user-context signature (HMAC-SHA1 over the URL it was sent to) with the
consumer key and access token it was made with, answers in X's shapes (`data`, `meta`, problem
bodies with `title`/`detail`/`type`), and enforces X's rules: 280 weighted characters, at most 4
images of at most 5 MB in PNG, JPEG, GIF or WebP, alt text up to 1,000 characters, and no text
the account posted within `duplicate_window_s` (403 "duplicate content"; 0 turns that off, as
X's own check cannot be relied on). Like X, it answers a post's text with each URL shortened to
t.co, a t.co link appended for its media, and &, <, > escaped.

`fail` injects 429 (with X's x-rate-limit-* headers) and 5xx answers, before the request is
processed or after it (`processed=True`: the post exists but the client sees an error);
`stall` processes a request and never answers it (a client timeout); `timeline_lag_reads`
hides the newest post from the next reads of a timeline. `posts` holds every post. Weighted
length is counted by the project's counter, pinned to twitter-text's cases by its own tests.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from pipeline.destinations.x_twitter_text import weighted_length
from tests.fakes.local_server import LocalServer
from tests.fakes.x_twitter_shapes import (
    authorization_problem,
    created_at_text,
    media_problem,
    post_shape,
    problem,
)

MAX_WEIGHTED_CHARS = 280
MAX_IMAGES = 4
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_ALT_TEXT = 1000


@dataclass
class XPost:
    id: str
    author_id: str
    text: str  # as written
    media_ids: list[str]
    created_at: float


@dataclass
class XMedia:
    id: str
    content_type: str
    size: int
    alt: str | None = None


@dataclass
class Injected:
    status: int
    method: str
    path: str
    processed: bool
    daily: bool
    reset_in_s: int


@dataclass
class Stall:
    method: str
    path: str


@dataclass
class FakeX(LocalServer):
    consumer_key: str = "x-consumer-key"
    consumer_secret: str = "x-consumer-secret-LEAKCHECK"
    access_token: str = "1500000000000000001-x-access-token"
    access_token_secret: str = "x-token-secret-LEAKCHECK"
    user_id: str = "1500000000000000001"
    username: str = "aiaaron"
    duplicate_window_s: float = 3600.0
    # The next this many timeline reads leave out the newest post, as X's timelines lag.
    timeline_lag_reads: int = 0
    posts: list[XPost] = field(default_factory=list)
    media: dict[str, XMedia] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)  # "POST /2/tweets", in order
    url: str = ""
    _injected: deque[Injected] = field(default_factory=deque)
    _stalls: list[Stall] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _released: asyncio.Event = field(default_factory=asyncio.Event)

    def fail(
        self,
        status: int,
        *,
        method: str = "POST",
        path: str = "/2/tweets",
        times: int = 1,
        processed: bool = False,
        daily: bool = False,
        reset_in_s: int = 900,
    ) -> None:
        """Answer the next `times` matching requests with `status`. For 429, `reset_in_s` is when
        the 15-minute window resets, or with `daily` the account's 24-hour post cap."""
        self._injected.extend(
            [Injected(status, method, path, processed, daily, reset_in_s)] * times
        )

    def stall(self, *, method: str = "POST", path: str = "/2/tweets") -> None:
        """Process the next matching request, then hold its answer until the fake stops."""
        self._stalls.append(Stall(method, path))

    def application(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=16 * 1024 * 1024)
        app.router.add_post("/2/tweets", self._create_post)
        app.router.add_post("/2/media/upload", self._upload)
        app.router.add_post("/2/media/metadata", self._metadata)
        app.router.add_get("/2/users/me", self._me)
        app.router.add_get("/2/users/{id}/tweets", self._users_posts)
        return app

    def release_held(self) -> None:
        self._released.set()

    def posts_with(self, text: str) -> list[XPost]:
        return [post for post in self.posts if post.text == text]

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.calls.append(f"{request.method} {request.path}")
        refused = authorization_problem(request, self)
        if refused is not None:
            return refused
        injected = self._take_injected(request)
        if injected is not None and not injected.processed:
            return self._injected_answer(injected)
        answer: web.StreamResponse = await handler(request)
        if injected is not None:
            return self._injected_answer(injected)
        if self._take_stall(request):
            await self._released.wait()
        return answer

    def _take_injected(self, request: web.Request) -> Injected | None:
        for injected in self._injected:
            if injected.method == request.method and injected.path == request.path:
                self._injected.remove(injected)
                return injected
        return None

    def _take_stall(self, request: web.Request) -> bool:
        for stall in self._stalls:
            if stall.method == request.method and stall.path == request.path:
                self._stalls.remove(stall)
                return True
        return False

    def _injected_answer(self, injected: Injected) -> web.Response:
        if injected.status != 429:
            return problem(injected.status)
        reset = str(int(time.time()) + injected.reset_in_s)
        later = str(int(time.time()) + 86400)
        headers = {
            "x-rate-limit-limit": "100",
            "x-rate-limit-remaining": "99" if injected.daily else "0",
            "x-rate-limit-reset": later if injected.daily else reset,
        }
        if injected.daily:
            headers |= {
                "x-user-limit-24hour-limit": "17",
                "x-user-limit-24hour-remaining": "0",
                "x-user-limit-24hour-reset": reset,
            }
        return problem(429, headers=headers)

    async def _me(self, request: web.Request) -> web.Response:
        user = {"id": self.user_id, "name": self.username.title(), "username": self.username}
        return web.json_response({"data": user})

    async def _create_post(self, request: web.Request) -> web.Response:
        body = json.loads(await request.text() or "null")
        if not isinstance(body, dict):
            return problem(400, detail="The request body is not a JSON object.")
        text = str(body.get("text", ""))
        media_ids = [str(m) for m in (body.get("media") or {}).get("media_ids", [])]
        if not text and not media_ids:
            return problem(400, parameter="text", detail="Post text or media is required.")
        if weighted_length(text) > MAX_WEIGHTED_CHARS:
            return problem(400, parameter="text", detail="Your Tweet text is too long.")
        if len(media_ids) > MAX_IMAGES or any(m not in self.media for m in media_ids):
            return problem(400, parameter="media.media_ids", detail="Your media IDs are invalid.")
        now = time.time()
        if any(
            post.text == text and now - post.created_at < self.duplicate_window_s
            for post in self.posts
        ):
            return problem(
                403, detail="You are not allowed to create a Tweet with duplicate content."
            )
        post = XPost(str(1860000000000000000 + next(self._ids)), self.user_id, text, media_ids, now)
        self.posts.append(post)
        shape = post_shape(post.id, post.text, post.media_ids, with_entities=False)
        return web.json_response({"data": shape}, status=201)

    async def _users_posts(self, request: web.Request) -> web.Response:
        max_results = int(request.query.get("max_results", "10"))
        if not 5 <= max_results <= 100:
            return problem(400, parameter="max_results", detail="max_results must be 5 to 100.")
        since = request.query.get("start_time")
        start = datetime.fromisoformat(since).timestamp() if since else 0.0
        fields = request.query.get("tweet.fields", "").split(",")
        mine = [
            post
            for post in reversed(self.posts)
            if post.author_id == request.match_info["id"] and post.created_at >= start
        ]
        if self.timeline_lag_reads > 0:
            self.timeline_lag_reads -= 1
            mine = mine[1:]
        mine = mine[:max_results]
        data = []
        for post in mine:
            shape = post_shape(post.id, post.text, post.media_ids, "entities" in fields)
            if "created_at" in fields:
                shape["created_at"] = created_at_text(post.created_at)
            data.append(shape)
        meta: dict[str, Any] = {"result_count": len(data)}
        if data:
            meta |= {"newest_id": data[0]["id"], "oldest_id": data[-1]["id"]}
            return web.json_response({"data": data, "meta": meta})
        return web.json_response({"meta": meta})

    async def _upload(self, request: web.Request) -> web.Response:
        form = await request.post()
        media = form.get("media")
        data = media.file.read() if isinstance(media, web.FileField) else None
        declared = str(form.get("media_type", ""))
        if data is None:
            return problem(400, parameter="media", detail="media is required.")
        refused = media_problem(data, declared, MAX_IMAGE_BYTES)
        if refused is not None:
            return problem(400, parameter="media", detail=refused)
        media_id = str(1870000000000000000 + next(self._ids))
        self.media[media_id] = XMedia(media_id, declared, len(data))
        return web.json_response(
            {
                "data": {
                    "id": media_id,
                    "media_key": f"3_{media_id}",
                    "size": len(data),
                    "expires_after_secs": 86400,
                    "image": {"image_type": declared},
                }
            }
        )

    async def _metadata(self, request: web.Request) -> web.Response:
        body = json.loads(await request.text() or "null")
        media_id = str((body or {}).get("id", ""))
        alt = str(((body or {}).get("metadata") or {}).get("alt_text", {}).get("text", ""))
        if media_id not in self.media:
            return problem(400, parameter="id", detail="The media id is not known.")
        if len(alt) > MAX_ALT_TEXT:
            return problem(400, parameter="alt_text", detail="alt text is over 1000 characters.")
        self.media[media_id].alt = alt
        return web.json_response(
            {"data": {"id": media_id, "associated_metadata": {"alt_text": {"text": alt}}}}
        )
