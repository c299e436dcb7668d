"""HTTP plumbing of the fake Discord: JSON responses, request bodies and the middleware.

Every ``/api/v10`` request goes through ``RestPlumbingMixin._middleware``: it is recorded as a
``Call``, its JSON or multipart body is parsed (``REQUEST_BODY`` / ``REQUEST_FILES`` on the
request), the bot token is checked, a matching fault (``fail_next``) may answer instead, and
answers get ``X-RateLimit-*`` headers. An ``ApiError`` becomes Discord's error body.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from aiohttp import web

from tests.fakes.discord_limits import ApiError, too_long
from tests.fakes.discord_records import Call, UploadedFile

API_PREFIX = "/api/v10"
# Parsed request body and uploads, stored on the request by the middleware.
REQUEST_BODY: Any = getattr(web, "RequestKey", lambda name, t: name)("fake_discord_body", object)
REQUEST_FILES: Any = getattr(web, "RequestKey", lambda name, t: name)("fake_discord_files", list)


def bucket_hash(route: str) -> str:
    return hashlib.sha1(route.encode()).hexdigest()[:32]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None):
    """A JSON response whose Content-Type is exactly ``application/json``.

    discord.py compares the header for equality, so aiohttp's ``json_response`` (which adds
    ``; charset=utf-8``) would make it treat every body as text.
    """
    hdrs = {"Content-Type": "application/json"}
    hdrs.update(headers or {})
    return web.Response(status=status, body=json.dumps(body).encode(), headers=hdrs)


async def read_body(request: web.Request) -> tuple[Any, list[UploadedFile]]:
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


class RestPlumbingMixin:
    """The REST middleware; mixed into ``FakeDiscord`` (whose routes it wraps)."""

    # Provided by FakeDiscord.
    token: str
    calls: list[Call]
    upload_limit: int  # bytes of files one request may carry (the guild's boost tier)

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
            call.json, call.files = await read_body(request)
            request[REQUEST_BODY] = call.json if call.json is not None else {}
            request[REQUEST_FILES] = call.files
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
        if sum(len(f.data) for f in call.files) > self.upload_limit:
            raise ApiError(413, 40005, "Request entity too large")
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
