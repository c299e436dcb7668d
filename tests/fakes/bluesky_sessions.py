"""The fake PDS's accounts side: createSession (rate-limited like the real one: 30 per 5 minutes
per account), refreshSession (each refresh token works once), getSession, and the bearer check
every write makes, with the real answers (401 AuthenticationRequired, 400 ExpiredToken,
400 InvalidToken) and rate-limit headers."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from tests.fakes.bluesky_records import jwt

SESSION_LIMIT, SESSION_WINDOW_S = 30, 300


def xrpc_error(
    status: int, error: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response({"error": error, "message": message}, status=status, headers=headers)


def limit_headers(limit: int, remaining: int, reset_in_s: int, window_s: int) -> dict[str, str]:
    return {
        "ratelimit-limit": str(limit),
        "ratelimit-remaining": str(max(0, remaining)),
        "ratelimit-reset": str(int(time.time()) + reset_in_s),
        "ratelimit-policy": f"{limit};w={window_s}",
    }


def bearer(request: web.Request) -> str | None:
    value = request.headers.get("Authorization", "")
    return value.removeprefix("Bearer ") if value.startswith("Bearer ") else None


class FakeSessions:
    def __init__(self, *, handle: str, app_password: str, did: str, access_ttl_s: int) -> None:
        self.handle, self.app_password, self.did = handle, app_password, did
        self.access_ttl_s = access_ttl_s
        self.created: list[float] = []  # every createSession that was let through
        self.refreshed = 0
        self._access: dict[str, bool] = {}  # token -> the server holds it expired
        self._refresh: set[str] = set()

    def expire_access_tokens(self) -> None:
        for token in self._access:
            self._access[token] = True

    def revoke_refresh_tokens(self) -> None:
        self._refresh.clear()

    def authorize(self, request: web.Request) -> web.Response | None:
        """None when the request carries a live access token, else the PDS's answer."""
        token = bearer(request)
        if token is None:
            return xrpc_error(401, "AuthMissing", "Authentication Required")
        if token not in self._access:
            return xrpc_error(400, "InvalidToken", "Token could not be verified")
        if self._access[token]:
            return xrpc_error(400, "ExpiredToken", "Token has expired")
        return None

    async def create_session(self, request: web.Request) -> web.Response:
        now = time.time()
        recent = [t for t in self.created if now - t < SESSION_WINDOW_S]
        if len(recent) >= SESSION_LIMIT:
            reset = int(recent[0] + SESSION_WINDOW_S - now) + 1
            headers = limit_headers(SESSION_LIMIT, 0, reset, SESSION_WINDOW_S)
            return xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded", headers)
        self.created.append(now)
        remaining = SESSION_LIMIT - len(recent) - 1
        headers = limit_headers(SESSION_LIMIT, remaining, SESSION_WINDOW_S, SESSION_WINDOW_S)
        body = await request.json()
        if (
            body.get("identifier") not in (self.handle, self.did)
            or body.get("password") != self.app_password
        ):
            return xrpc_error(
                401, "AuthenticationRequired", "Invalid identifier or password", headers
            )
        return web.json_response(self._new_session(), headers=headers)

    async def refresh_session(self, request: web.Request) -> web.Response:
        token = bearer(request)
        if token not in self._refresh:
            if token in self._access:
                return xrpc_error(400, "InvalidToken", "Invalid token type")
            return xrpc_error(400, "ExpiredToken", "Token has been revoked")
        self._refresh.discard(token)
        self.refreshed += 1
        return web.json_response(self._new_session())

    async def get_session(self, request: web.Request) -> web.Response:
        if refused := self.authorize(request):
            return refused
        return web.json_response({"handle": self.handle, "did": self.did, "active": True})

    def _new_session(self) -> dict[str, Any]:
        now = int(time.time())
        claims = {"sub": self.did, "iat": now}
        access = jwt({**claims, "scope": "com.atproto.appPass", "exp": now + self.access_ttl_s})
        refresh = jwt({**claims, "scope": "com.atproto.refresh", "exp": now + 90 * 86400})
        self._access[access] = False
        self._refresh.add(refresh)
        return {
            "accessJwt": access,
            "refreshJwt": refresh,
            "handle": self.handle,
            "did": self.did,
            "active": True,
        }
