"""HTTP plumbing of the fake Slack: the Web API endpoint, tokens, faults and response_urls.

`WebApiPlumbingMixin._handle_api` reads parameters from the query string, form, multipart or
JSON body and the token from `Authorization: Bearer` or a `token` field, records a `Call` (with
the team it acts in: its token's, see `slack_workspaces`), applies `fail_next` / `delay_next`,
and dispatches to the method table of `FakeSlack`. An `ApiError` becomes Slack's
`{"ok": false, "error": ...}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.slack_recording import Call, ResponseUrlPost

_DEFAULT_ERRORS = {429: "ratelimited", 500: "internal_error", 503: "service_unavailable"}


class ApiError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error, self.extra = error, extra


@dataclass
class Fault:
    status: int
    retry_after: int | None
    error: str | None
    body: str | None
    times: int


def form_value(value: str | bytes | bytearray | web.FileField) -> Any:
    if isinstance(value, web.FileField):
        return value.file.read()
    return value if isinstance(value, str) else bytes(value)


class WebApiPlumbingMixin:
    """Web API endpoint, token checks, faults and response_urls; mixed into ``FakeSlack``."""

    # Provided by FakeSlack.
    bot_token: str
    app_token: str
    scopes: frozenset[str]
    calls: list[Call]
    response_url_posts: list[ResponseUrlPost]
    _faults: dict[str, list[Fault]]
    _delays: dict[str, list[float]]
    _response_ids: dict[str, str]  # response_url id -> its team
    _methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]]
    _calling_team: str  # slack_workspaces
    team_of_call: Callable[[str | None], str]

    # ------------------------------------------------------------------ test controls

    def fail_next(
        self,
        method: str,
        status: int = 429,
        *,
        retry_after: int | None = 1,
        times: int = 1,
        error: str | None = None,
        body: str | None = None,
    ) -> None:
        """The next `times` calls of `method` fail with HTTP `status` (429 gets `Retry-After`).

        `method` is a Web API method name, or "upload_url" / "response_url". status=200 with
        `error` gives a plain `{"ok": false, "error": error}`; `body` replaces the JSON body.
        """
        fault = Fault(status, retry_after if status == 429 else None, error, body, times)
        self._faults.setdefault(method, []).append(fault)

    def stop_failing(self, method: str) -> None:
        """Let `method` through again: the faults still queued for it are dropped."""
        self._faults.pop(method, None)

    def delay_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Answer the next `times` calls of `method` only after `seconds`."""
        self._delays.setdefault(method, []).extend([seconds] * times)

    # ------------------------------------------------------------------ HTTP handlers

    async def _begin(
        self, method: str, params: dict[str, Any], token: str | None, *, team: str | None = None
    ) -> Call:
        """Record the call; its team is `team` if given, else its token's."""
        call = Call(method, params, time.monotonic(), token, team=team or self.team_of_call(token))
        self.calls.append(call)
        delays = self._delays.get(method)
        if delays:
            await asyncio.sleep(delays.pop(0))
        return call

    def _fault(self, call: Call) -> web.Response | None:
        faults = self._faults.get(call.method)
        if not faults:
            return None
        fault = faults[0]
        fault.times -= 1
        if fault.times <= 0:
            faults.pop(0)
        call.status = fault.status
        call.response = {"ok": False, "error": fault.error or _DEFAULT_ERRORS.get(fault.status)}
        headers = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
            call.retry_after = fault.retry_after
        if fault.body is not None:
            return web.Response(status=fault.status, text=fault.body, headers=headers)
        return web.json_response(call.response, status=fault.status, headers=headers)

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = dict(request.query)
        invalid_json = False
        if request.can_read_body:
            if request.content_type == "application/json":
                body: Any = None
                with contextlib.suppress(ValueError):
                    body = json.loads(await request.text())
                invalid_json = not isinstance(body, dict)
                params.update(body if isinstance(body, dict) else {})
            else:
                for key, value in (await request.post()).items():
                    params[key] = form_value(value)
        for key in ("blocks", "attachments", "metadata", "files"):
            if isinstance(params.get(key), str):
                # Left as a string if it is not JSON; the method reports the format error.
                with contextlib.suppress(ValueError):
                    params[key] = json.loads(params[key])
        auth = request.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else params.pop("token", None)
        params.pop("token", None)
        call = await self._begin(method, params, token)
        faulty = self._fault(call)
        if faulty is not None:
            return faulty
        try:
            handler = self._methods.get(method)
            if handler is None:
                raise ApiError("unknown_method", req_method=method)
            if invalid_json:
                raise ApiError("invalid_json")
            self._check_token(method, token)
            self._calling_team = call.team  # the handler runs next, with no await between
            call.response = {"ok": True, **handler(params)}
        except ApiError as e:
            call.response = {"ok": False, "error": e.error, **e.extra}
        # As Slack does on every answer to a valid token: the scopes it was granted.
        granted = (
            {"x-oauth-scopes": ",".join(sorted(self.scopes))} if token == self.bot_token else {}
        )
        return web.json_response(call.response, headers=granted)

    def _check_token(self, method: str, token: str | None) -> None:
        if not token:
            raise ApiError("not_authed")
        if method == "apps.connections.open":
            if token.startswith("xapp-"):
                if token != self.app_token:
                    raise ApiError("invalid_auth")
                return
            raise ApiError("not_allowed_token_type")
        if token == self.app_token:
            raise ApiError("not_allowed_token_type")
        if token != self.bot_token:
            raise ApiError("invalid_auth")

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        rid = request.match_info["rid"]
        if request.content_type == "application/json":
            body = await request.json()
        else:
            body = json.loads(str((await request.post()).get("payload", "{}")))
        team = self._response_ids.get(rid)
        call = await self._begin("response_url", {"response_id": rid, **body}, None, team=team)
        faulty = self._fault(call)
        if faulty is not None:
            return faulty
        used = sum(1 for p in self.response_url_posts if p.response_id == rid)
        if rid not in self._response_ids or used >= 5:  # 5 uses within 30 minutes
            call.status = 404
            return web.Response(status=404, text="used_url" if used else "expired_url")
        self.response_url_posts.append(ResponseUrlPost(rid, body, call.time))
        call.response = {"ok": True}
        return web.Response(text="ok")
