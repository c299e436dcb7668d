"""Publishing to a webhook: signed JSON, an idempotency key that survives a retry."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

from aiohttp import web

from storage import posts
from tests.support import console_session, make_settings

SECRET = "webhook-signing-secret"


class Receiver:
    """A publishing endpoint on 127.0.0.1 that fails the first `failures` posts with a 503."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.read()))
        if self.failures:
            self.failures -= 1
            return web.Response(status=503)
        return web.json_response({"ok": True})

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/publish", self.handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/publish"
        return self

    async def __aexit__(self, *exc: Any) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


async def test_an_approved_post_is_posted_signed_and_retried_with_the_same_key(
    tmp_path: Path,
) -> None:
    async with Receiver(failures=1) as receiver:
        settings = make_settings(
            tmp_path, PUBLISH_WEBHOOK_URL=receiver.url, PUBLISH_WEBHOOK_SECRET=SECRET
        )
        async with console_session(settings) as session:
            await session.type('/propose webhooks special:"1 text"', user="writer")
            await session.type("/run 1")
            await session.settle()
            await session.type("react post 1 ✅", user="editor")
            await session.settle()
            db = session.app.room.deps.db
            post = await posts.get_post(db.reader, 1)
            assert post is not None and post.status == "approved"  # the 503 left it approved
            assert "post 1 was not published: webhook answered 503" in session.transcript

        # A restart publishes what was approved, with the same idempotency key.
        async with console_session(settings) as again:
            await again.settle()
            post = await posts.get_post(again.app.room.deps.db.reader, 1)
            assert post is not None and post.status == "published"

    assert len(receiver.received) == 2
    keys = {headers["Idempotency-Key"] for headers, _ in receiver.received}
    assert keys == {"draftroom-post-1-rev-1"}
    for headers, body in receiver.received:
        expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-Draftroom-Signature"] == f"sha256={expected}"
        document = json.loads(body)
        assert document["post_id"] == 1 and document["content_format"] == "text"
        assert document["body"] and document["caption"]
    assert not (tmp_path / "outbox").exists()
