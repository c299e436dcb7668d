"""A local fake Bluesky PDS on 127.0.0.1: the XRPC endpoints the atproto SDK calls to post.

com.atproto.server.createSession (30 per 5 minutes, counted, 429 past that), refreshSession
(rotates both tokens), getSession; com.atproto.repo.uploadBlob (400 BlobTooLarge over the cap),
createRecord (a taken record key answers 500 InternalServerError, as the reference PDS does),
putRecord, getRecord (400 RecordNotFound). Posts are checked against the lexicon (300 graphemes,
3,000 bytes, 4 images with alt, blobs that were uploaded and fit). Rate-limit headers on limited
routes. Faults per method: a status (429 with the real headers, 5xx) before or after the request
is processed, a stall (the client times out; with `after=True` the write has happened), and
`expire_access_tokens()` (the server answers ExpiredToken though the token's own `exp` is later).
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from tests.fakes.bluesky_records import (
    POST,
    RecordRefusedError,
    StoredBlob,
    StoredRecord,
    check_post,
    cid_for,
    new_tid,
    sniff_image_type,
)
from tests.fakes.bluesky_sessions import FakeSessions, limit_headers, xrpc_error
from tests.fakes.local_server import LocalServer

Handler = Callable[[web.Request], Awaitable[web.Response]]
WRITE_POINTS, WRITE_WINDOW_S, CREATE_COST = 5000, 3600, 3


@dataclass
class Fault:
    status: int = 500  # 429 answers with the rate-limit headers
    after: bool = False  # process the request first: the client sees an error, the write happened
    stall: bool = False  # no answer until the fake stops
    reset_in_s: int = 60


class FakeBluesky(LocalServer):
    def __init__(
        self,
        *,
        handle: str = "aiaaron.bsky.social",
        app_password: str = "abcd-efgh-ijkl-mnop",
        did: str = "did:plc:fakeaiaaron0000000000000",
        max_blob_bytes: int = 1_000_000,
        access_ttl_s: int = 7200,
        not_found_status: int = 400,
    ) -> None:
        self.handle, self.did = handle, did
        self.sessions = FakeSessions(
            handle=handle, app_password=app_password, did=did, access_ttl_s=access_ttl_s
        )
        self.max_blob_bytes = max_blob_bytes
        self.not_found_status = not_found_status
        self.records: dict[tuple[str, str], StoredRecord] = {}
        self.blobs: dict[str, StoredBlob] = {}
        self.calls: Counter[str] = Counter()
        self.faults: defaultdict[str, deque[Fault | None]] = defaultdict(deque)  # None: let pass
        self.write_points_used = 0
        self._release = asyncio.Event()

    # --- what tests read and inject

    @property
    def posts(self) -> list[StoredRecord]:
        return [r for (collection, _), r in self.records.items() if collection == POST]

    def fail(
        self,
        nsid: str,
        status: int = 500,
        *,
        times: int = 1,
        after: bool = False,
        reset_in_s: int = 60,
        skip: int = 0,
    ) -> None:
        """Answer `status` to the `times` calls of `nsid` after the next `skip` ones."""
        self.faults[nsid].extend([None] * skip)
        self.faults[nsid].extend(Fault(status, after, False, reset_in_s) for _ in range(times))

    def stall(self, nsid: str, *, after: bool = True) -> None:
        self.faults[nsid].append(Fault(after=after, stall=True))

    def expire_access_tokens(self) -> None:
        """The server holds every access token issued so far expired, whatever its `exp` says."""
        self.sessions.expire_access_tokens()

    # --- server

    def application(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/xrpc/{nsid}", self._dispatch)
        self._release = asyncio.Event()
        return app

    def release_held(self) -> None:
        self._release.set()

    def _routes(self) -> dict[tuple[str, str], Handler]:
        return {
            ("POST", "com.atproto.server.createSession"): self.sessions.create_session,
            ("POST", "com.atproto.server.refreshSession"): self.sessions.refresh_session,
            ("GET", "com.atproto.server.getSession"): self.sessions.get_session,
            ("POST", "com.atproto.repo.uploadBlob"): self._upload_blob,
            ("POST", "com.atproto.repo.createRecord"): self._create_record,
            ("POST", "com.atproto.repo.putRecord"): self._put_record,
            ("GET", "com.atproto.repo.getRecord"): self._get_record,
        }

    async def _dispatch(self, request: web.Request) -> web.Response:
        nsid = request.match_info["nsid"]
        handler = self._routes().get((request.method, nsid))
        if handler is None:
            return xrpc_error(501, "MethodNotImplemented", f"Method Not Implemented: {nsid}")
        self.calls[nsid] += 1
        fault = self.faults[nsid].popleft() if self.faults[nsid] else None
        if fault is not None and not fault.after:
            return await self._fault_answer(fault)
        answer = await handler(request)
        if fault is not None:
            return await self._fault_answer(fault)
        return answer

    async def _fault_answer(self, fault: Fault) -> web.Response:
        if fault.stall:
            await self._release.wait()
            return xrpc_error(503, "ServiceUnavailable", "stopping")
        if fault.status == 429:
            headers = limit_headers(WRITE_POINTS, 0, fault.reset_in_s, WRITE_WINDOW_S)
            return xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded", headers)
        return xrpc_error(fault.status, "InternalServerError", "Internal Server Error")

    # --- repo

    async def _upload_blob(self, request: web.Request) -> web.Response:
        if refused := self.sessions.authorize(request):
            return refused
        data = await request.read()
        if len(data) > self.max_blob_bytes:
            return xrpc_error(
                400,
                "BlobTooLarge",
                f"This file is too large. It is {len(data):,} bytes but the maximum size is "
                f"{self.max_blob_bytes:,} bytes.",
            )
        declared = request.headers.get("Content-Type", "*/*")
        mime = (
            declared
            if declared not in ("*/*", "application/octet-stream")
            else sniff_image_type(data)
        )
        cid = cid_for(data, raw=True)
        self.blobs[cid] = StoredBlob(data, mime)
        return web.json_response(
            {"blob": {"$type": "blob", "ref": {"$link": cid}, "mimeType": mime, "size": len(data)}}
        )

    async def _create_record(self, request: web.Request) -> web.Response:
        return await self._write(request, replace=False)

    async def _put_record(self, request: web.Request) -> web.Response:
        return await self._write(request, replace=True)

    async def _write(self, request: web.Request, *, replace: bool) -> web.Response:
        if refused := self.sessions.authorize(request):
            return refused
        body = await request.json()
        if body.get("repo") not in (self.did, self.handle):
            return xrpc_error(400, "InvalidRequest", "Input/repo must be the authenticated account")
        collection, rkey = (
            str(body.get("collection", "")),
            body.get("rkey") or ("" if replace else new_tid()),
        )
        if not rkey:
            return xrpc_error(400, "InvalidRequest", 'Input must have the property "rkey"')
        record = body.get("record")
        try:
            if collection == POST:
                check_post(record, rkey, self.blobs, self.max_blob_bytes)
        except RecordRefusedError as refusal:
            return xrpc_error(400, refusal.error, str(refusal))
        existing = self.records.get((collection, rkey))
        if existing is not None and not replace:
            # The reference PDS lets the repo's unique constraint fail: a 500, not a 409.
            return xrpc_error(500, "InternalServerError", "Internal Server Error")
        uri = f"at://{self.did}/{collection}/{rkey}"
        cid = cid_for(repr(record).encode(), raw=False)
        writes = existing.writes + 1 if existing else 1
        self.records[(collection, rkey)] = StoredRecord(uri, cid, collection, rkey, record, writes)
        self.write_points_used += CREATE_COST
        remaining = WRITE_POINTS - self.write_points_used
        headers = limit_headers(WRITE_POINTS, remaining, WRITE_WINDOW_S, WRITE_WINDOW_S)
        commit = {"cid": cid_for(uri.encode() + cid.encode(), raw=False), "rev": new_tid()}
        return web.json_response(
            {"uri": uri, "cid": cid, "commit": commit, "validationStatus": "valid"}, headers=headers
        )

    async def _get_record(self, request: web.Request) -> web.Response:
        query = request.query
        if query.get("repo") not in (self.did, self.handle):
            return xrpc_error(400, "InvalidRequest", f"Could not find repo: {query.get('repo')}")
        stored = self.records.get((query.get("collection", ""), query.get("rkey", "")))
        if stored is None:
            uri = f"at://{self.did}/{query.get('collection')}/{query.get('rkey')}"
            return xrpc_error(
                self.not_found_status, "RecordNotFound", f"Could not locate record: {uri}"
            )
        return web.json_response({"uri": stored.uri, "cid": stored.cid, "value": stored.value})
