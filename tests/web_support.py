"""The console with its page server, as a user runs it, and the browser the page tests use.

Chromium comes from Debian's package (`apt-get install chromium`); Playwright drives it through
`executable_path`, since its own browser download does not work here. Without it the browser
tests do not run, and the test run says so by name at the end (tests/conftest.py); CI installs
it (.ci/run) and sets DRAFTROOM_REQUIRE_BROWSER=1, so there they fail instead.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot.settings import Settings
from bot.web_server import WebServer
from tests.support import ConsoleSession, console_session

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
HOW_TO_GET_CHROMIUM = (
    "no Chromium at /usr/bin/chromium (or DRAFTROOM_CHROMIUM): the browser page tests did not "
    "run. Install Debian's package (`apt-get install chromium`) to run them."
)
NOT_RUN: list[str] = []  # test ids skipped for want of a browser, reported at the end


def chromium_path() -> str | None:
    found = os.environ.get("DRAFTROOM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return found if os.path.exists(found) else None


def need_chromium(request: pytest.FixtureRequest) -> str:
    path = chromium_path()
    if path is not None:
        return path
    if os.environ.get("DRAFTROOM_REQUIRE_BROWSER") == "1":
        pytest.fail(HOW_TO_GET_CHROMIUM)
    NOT_RUN.append(request.node.nodeid)
    pytest.skip(HOW_TO_GET_CHROMIUM)


@contextlib.asynccontextmanager
async def chromium(executable: str) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory(prefix="draftroom-chromium-") as profile:
        async with async_playwright() as driver:
            context = await driver.chromium.launch_persistent_context(
                profile, executable_path=executable, headless=True, args=CHROMIUM_FLAGS
            )
            try:
                yield context
            finally:
                await context.close()


@dataclass
class Site:
    session: ConsoleSession
    server: WebServer

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def links(self, path: str) -> list[str]:
        """Every link to `path` (like `/p/3`) the console printed, oldest first."""
        pattern = re.escape(self.base + path) + r"\?t=[\w.\-]+"
        return re.findall(pattern, self.session.transcript)

    def link(self, path: str) -> str:
        found = self.links(path)
        assert found, f"the console printed no link to {path}:\n{self.session.transcript[-3000:]}"
        return found[-1]


@contextlib.asynccontextmanager
async def site_session(settings: Settings, user: str = "writer") -> AsyncIterator[Site]:
    """The console chat with its pages served on a free port, as `python3 dev.py run` runs."""
    async with console_session(settings, user=user) as session:
        server = WebServer(settings, session.app.room)
        await server.start()
        try:
            yield Site(session, server)
        finally:
            await server.stop()
