"""One Bluesky account's session, kept for the life of the destination.

createSession is rate-limited per account (30 per 5 minutes, a few hundred a day), so the account
logs in once and then refreshes. The SDK refreshes only when its own clock says the access token
is near its end; a server that answers `ExpiredToken` anyway (clock skew, a revoked token) is met
here by one refreshSession and one retry, and a new login only when the refresh is refused too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx
from atproto_client import AsyncClient, Session, SessionEvent
from atproto_client.exceptions import BadRequestError, UnauthorizedError
from atproto_core.exceptions import AtProtocolError

from pipeline.destinations.base import DestinationError
from pipeline.destinations.bluesky_errors import describe_failure, refused_login, xrpc_error_name

T = TypeVar("T")
SdkError = (AtProtocolError, httpx.HTTPError)
_REFUSED_LOGIN = ("AuthenticationRequired", "AccountTakedown", "InvalidRequest")


class BlueskySession:
    def __init__(
        self, client: AsyncClient, *, handle: str, app_password: str, password_setting: str
    ) -> None:
        self._client = client
        self._handle = handle
        self._password = app_password
        self._password_setting = password_setting
        self._who = f"@{handle}"
        self._session: Session | None = None
        self._lock = asyncio.Lock()
        client.on_session_change(self._keep)

    @property
    def did(self) -> str:
        if self._session is None:
            raise DestinationError(f"{self._who} has no Bluesky session yet", retryable=True)
        did: str = self._session.did
        return did

    async def ensure(self) -> None:
        async with self._lock:
            if self._session is None:
                await self._login()

    async def call(self, doing: str, call: Callable[[], Awaitable[T]], *, wrote: bool) -> T:
        """`call` with the session; its failure as a DestinationError (`doing` reads after
        "while"; `wrote` when an unanswered request may have been applied)."""
        try:
            return await self.authorized(call)
        except SdkError as exc:
            raise describe_failure(exc, doing, who=self._who, wrote=wrote) from exc

    async def authorized(self, call: Callable[[], Awaitable[T]]) -> T:
        """`call`, and once more after a refresh if the server says the access token expired.
        Raises the SDK's errors."""
        used = self._session.access_jwt if self._session else ""
        try:
            return await call()
        except (BadRequestError, UnauthorizedError) as exc:
            if xrpc_error_name(exc) != "ExpiredToken":
                raise
        await self._refresh(used)
        return await call()

    async def _login(self) -> None:
        try:
            await self._client.login(self._handle, self._password, fetch_bsky_profile=False)
        except SdkError as exc:
            if isinstance(exc, UnauthorizedError) or xrpc_error_name(exc) in _REFUSED_LOGIN:
                raise refused_login(self._handle, self._password_setting) from exc
            raise describe_failure(exc, "logging in", who=self._who, wrote=False) from exc

    async def _refresh(self, expired_access_jwt: str) -> None:
        async with self._lock:
            session = self._session
            if session is None or session.access_jwt != expired_access_jwt:
                return  # another call refreshed (or logged in) meanwhile
            try:
                fresh = await self._client.com.atproto.server.refresh_session(
                    headers={"Authorization": f"Bearer {session.refresh_jwt}"},
                    # else the SDK's own pre-emptive refresh could spend the refresh token first
                    ignore_session_check=True,
                )
            except (BadRequestError, UnauthorizedError):
                # The refresh token is spent or revoked: the one case to log in again.
                self._session = None
                await self._login()
                return
            except SdkError as exc:
                raise describe_failure(
                    exc, "refreshing the session", who=self._who, wrote=False
                ) from exc
            renewed = Session(
                handle=fresh.handle,
                did=fresh.did,
                access_jwt=fresh.access_jwt,
                refresh_jwt=fresh.refresh_jwt,
                pds_endpoint=session.pds_endpoint,
            )
            # Importing a session string is the SDK's public way to set tokens; it sends nothing.
            await self._client.login(session_string=renewed.export(), fetch_bsky_profile=False)

    def _keep(self, event: SessionEvent, session: Session) -> None:
        self._session = session
