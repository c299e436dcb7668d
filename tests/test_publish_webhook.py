"""Publishing to a webhook: signed JSON, an idempotency key that survives a retry, and a URL
that is a credential: chat, the database and the logs name the destination by host only."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import socket
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.bootstrap import build
from bot.errors import ConfigError
from storage import posts
from storage.sqlite_db import SqliteDatabase
from tests import db_rows, support
from tests.support import console_session, make_settings
from tests.test_pipeline_providers import database_text

SECRET = "webhook-signing-secret"
ROOT = Path(__file__).resolve().parent.parent
# A receiver URL as hooks are handed out: the credential is in the path and in the query.
SECRET_PATH = "/hooks/T0PATHSECRET/B1PATHSECRET"
TOKEN = "TOKENSECRET4f9a2c"


class Receiver:
    """A publishing endpoint on 127.0.0.1 at `path`. It fails the first `failures` posts with a
    503, or every post with `refuse` (a status) and a body that echoes the URL, as some do."""

    def __init__(self, failures: int = 0, *, path: str = "/publish", query: str = "") -> None:
        self.failures = failures
        self.refuse: int | None = None
        self.path, self.query = path, query
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.urls: list[str] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.read()))
        self.urls.append(str(request.rel_url))
        if self.refuse is not None:
            text = f"no hook at {request.url} for token {request.query.get('token')}"
            return web.Response(status=self.refuse, text=text)
        if self.failures:
            self.failures -= 1
            return web.Response(status=503)
        return web.json_response({"ok": True})

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_post(self.path, self.handle)
        # No access log: it would write the secret URL into the suite's own log.
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}{self.path}" + (f"?{self.query}" if self.query else "")
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
            # The 503 left it publishing, to be tried again with the same key.
            assert post is not None and post.status == "publishing"
            assert (
                "post 1 was not published: webhook at 127.0.0.1 answered 503" in session.transcript
            )

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


SCRIPT = """/propose webhooks special:"1 text"
/run 1
wait
as editor
react post 1 ✅
wait
/post 1
"""


async def publish_from_console(tmp_path: Path, url: str) -> tuple[str, str]:
    """Run the console as a subprocess that approves one post published to `url`, logging at
    DEBUG; return what it printed (the chat) and what it logged."""
    env = {
        **os.environ,
        "DRAFTROOM_DB": str(tmp_path / "draftroom.db"),
        "DRAFTROOM_MEDIA_DIR": str(tmp_path / "media"),
        "DRAFTROOM_OUTBOX_DIR": str(tmp_path / "outbox"),
        "PUBLISH_WEBHOOK_URL": url,
        "PUBLISH_WEBHOOK_SECRET": SECRET,
        "LOG_LEVEL": "DEBUG",
        "PYTHONPATH": str(ROOT),
    }
    for name in ("SLACK_BOT_TOKEN", "DISCORD_BOT_TOKEN", "APPROVERS", "DATABASE_URL"):
        env.pop(name, None)
    if support.DATABASE_URL is not None:  # the test's own PostgreSQL database
        env["DATABASE_URL"] = support.DATABASE_URL
    bot = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "console",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=tmp_path,
        env=env,
    )
    try:
        out, err = await asyncio.wait_for(bot.communicate(SCRIPT.encode()), timeout=120)
    finally:
        if bot.returncode is None:
            bot.kill()
            await bot.wait()
    assert bot.returncode == 0, err.decode()
    return out.decode(), err.decode()


def stored_text(db: Path) -> str:
    """Every value in the database, as text."""
    if support.DATABASE_URL is not None:
        return database_text(db.parent)
    with sqlite3.connect(db) as conn:
        return "\n".join(conn.iterdump())


def assert_no_credential(text: str) -> None:
    for secret in ("PATHSECRET", TOKEN, SECRET_PATH):
        assert secret not in text


async def test_the_webhook_url_is_never_shown_stored_or_logged(tmp_path: Path) -> None:
    async with Receiver(path=SECRET_PATH, query=f"token={TOKEN}") as receiver:
        chat, logs = await publish_from_console(tmp_path, receiver.url)

    assert receiver.urls == [f"{SECRET_PATH}?token={TOKEN}"]  # the receiver got the whole URL
    assert "post 1 is published (webhook: 127.0.0.1)" in chat
    card = chat[chat.index("@aiaaron · post 1") :]
    references = card[card.index("Chat References") :]
    assert "post 1 is published (webhook: 127.0.0.1)" in references
    assert_no_credential(chat)
    assert "HTTP Request: POST [redacted]" in logs  # httpx logs the request, URL scrubbed
    assert_no_credential(logs)
    rows = db_rows.rows(tmp_path / "draftroom.db", "SELECT target, location FROM publications")
    assert rows == [("webhook", "127.0.0.1")]
    assert_no_credential(stored_text(tmp_path / "draftroom.db"))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("failure", "said"),
    [
        (403, "post 1 was not published: webhook at 127.0.0.1 refused the post (403): no hook at "),
        (500, "post 1 was not published: webhook at 127.0.0.1 answered 500. It will be tried"),
        (None, "post 1 was not published: webhook at 127.0.0.1 unreachable: ConnectError."),
    ],
    ids=["refused-echoing-the-url", "server-error", "connection-refused"],
)
async def test_a_failing_webhook_does_not_show_its_url_either(
    tmp_path: Path, failure: int | None, said: str
) -> None:
    query = f"token={TOKEN}"
    async with Receiver(path=SECRET_PATH, query=query) as receiver:
        receiver.refuse = failure
        url = receiver.url
        if failure is None:
            url = f"http://127.0.0.1:{closed_port()}{SECRET_PATH}?{query}"
        chat, logs = await publish_from_console(tmp_path, url)

    assert said in chat
    if failure == 403:
        assert "no hook at [redacted] for token [redacted]" in chat
    assert_no_credential(chat)
    assert_no_credential(logs)
    assert_no_credential(stored_text(tmp_path / "draftroom.db"))


async def test_an_earlier_version_s_stored_webhook_urls_are_cut_to_the_host_in_sqlite(
    tmp_path: Path,
) -> None:
    """Earlier versions stored the whole URL as where a post went, and said it in chat (a SQLite
    file of schema 6, before PostgreSQL was supported)."""
    path = tmp_path / "draftroom.db"
    url = f"https://User:pw@Hooks.Example.com:8443{SECRET_PATH}?token={TOKEN}"
    said = f"post 1 is published (webhook: {url})."
    with contextlib.closing(support.sqlite_at_schema(path, 6)) as conn, conn:
        conn.execute(
            "INSERT INTO publications (post_id, idempotency_key, target, location, published_at)"
            " VALUES (1, 'draftroom-post-1-rev-1', 'webhook', ?, 1.0), "
            "(2, 'draftroom-post-2-rev-1', 'outbox', '/srv/outbox/post-2', 1.0)",
            (url,),
        )
        conn.execute(
            "INSERT INTO turns (platform, channel_id, role, author, text, created_at)"
            " VALUES ('slack', 'C1', 'bot', 'draftroom', ?, 1.0)",
            (said,),
        )
        conn.execute("INSERT INTO console_messages (text, created_at) VALUES (?, 1.0)", (said,))

    async with SqliteDatabase(path) as db:
        locations = await db.fetchall("SELECT post_id, location FROM publications ORDER BY 1")
        assert [tuple(row) for row in locations] == [
            (1, "hooks.example.com"),
            (2, "/srv/outbox/post-2"),
        ]
        expected = "post 1 is published (webhook: hooks.example.com)."
        assert await db.scalar("SELECT text FROM turns") == expected
        assert await db.scalar("SELECT text FROM console_messages") == expected
    assert_no_credential(stored_text(path))


@pytest.mark.parametrize(
    "url", [f"hooks.example.com{SECRET_PATH}?token={TOKEN}", f"ftp://hooks.example.com?t={TOKEN}"]
)
async def test_a_webhook_url_that_cannot_work_is_refused_at_start_without_echoing_it(
    tmp_path: Path, url: str
) -> None:
    settings = make_settings(tmp_path, PUBLISH_WEBHOOK_URL=url, PUBLISH_WEBHOOK_SECRET=SECRET)
    with pytest.raises(ConfigError) as refused:
        async with build(settings):
            pass
    assert str(refused.value) == (
        "PUBLISH_WEBHOOK_URL is not an http:// or https:// URL with a host."
    )
