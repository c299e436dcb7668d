"""Faults the fake Discord injects on request: 429 rate limits, 5xx errors, Cloudflare bans.

``FaultInjectionMixin.fail_next`` queues a ``Fault``; the REST middleware
(``tests/fakes/discord_http.py``) answers matching requests with ``Fault.response``.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass

from aiohttp import web

from tests.fakes.discord_http import bucket_hash, json_response


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


class FaultInjectionMixin:
    """``fail_next``; mixed into ``FakeDiscord``."""

    _faults: list[Fault]

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
