"""Shared test helpers: settings in a temporary folder, a room driven through the console, and
waiting on a condition.

Nothing here fakes draftroom itself: the room is built by `bot.bootstrap.build` on a real SQLite
file, and driven through the real console adapter writing into a string buffer.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import io
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.bootstrap import App, build
from bot.console import Console
from bot.settings import Settings
from storage import backend
from storage.db import Database

SEED_SPECIAL = (
    "Generate exactly 5 items: 1 with content_format='video' and 4 with content_format='hero_text'."
)
SEED_IDEA = (
    "When the benchmark is the safety case: labs grade their own capability thresholds and "
    "publish model cards that the press treats as capability evidence"
)


async def wait_until(
    condition: Callable[[], object | Awaitable[object]], timeout: float = 10.0
) -> object:
    """Until `condition()` (a plain or an async function) is true; returns its value. Waiting on
    a positive signal instead of sleeping a fixed time: as quick as the machine, never too short.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"not true within {timeout:g}s: {condition!r}")
        await asyncio.sleep(0.005)


# The database the running test is on: None for SQLite (the file in its tmp_path), else the
# URL of its own PostgreSQL database. Set by the `backend` fixture (tests/conftest.py) that runs
# every test on both.
DATABASE_URL: str | None = None


def start_afresh() -> None:
    """A new, empty-of-rows database for the running test from here on (SQLite: nothing to do,
    a new folder is a new file): for a test that starts the whole story again."""
    global DATABASE_URL
    if DATABASE_URL is not None:
        from tests.postgres import PostgresServer

        assert PostgresServer.running is not None
        DATABASE_URL = PostgresServer.running.fresh_database()


def sqlite_at_schema(path: Path, version: int) -> sqlite3.Connection:
    """A SQLite file as an earlier draftroom left it: migrations 1 to `version` applied, open for
    the test to write that version's rows (commit and close it before opening the file)."""
    conn = sqlite3.connect(path)
    folder = Path(__file__).resolve().parent.parent / "storage" / "migrations"
    for migration in sorted(folder.glob("0*.sql")):
        if int(migration.name[:4]) > version:
            break
        conn.executescript(migration.read_text(encoding="utf-8"))
    conn.execute(f"PRAGMA user_version = {int(version)}")
    return conn


def database_for(tmp_path: Path, name: str = "draftroom.db") -> Database:
    """The running test's database, not yet opened: SQLite at `tmp_path / name`, or its
    PostgreSQL database (one per test, whatever the name)."""
    return backend.database(DATABASE_URL, tmp_path / name)


def make_settings(tmp_path: Path, **env: Any) -> Settings:
    values: dict[str, Any] = {
        "DATABASE_URL": DATABASE_URL,
        "DRAFTROOM_DB": str(tmp_path / "draftroom.db"),
        "DRAFTROOM_MEDIA_DIR": str(tmp_path / "media"),
        "DRAFTROOM_OUTBOX_DIR": str(tmp_path / "outbox"),
        "APPROVERS": "editor,chief",
        "RETRY_BASE_S": 0.01,
        "WEB_PORT": 0,  # the pages on a free port: tests run side by side
    }
    values.update(env)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class ConsoleSession:
    app: App
    console: Console
    out: io.StringIO

    async def type(self, line: str, *, user: str | None = None) -> str:
        """Type one line as `user`; return what the console printed for it."""
        if user is not None:
            self.console.user = user
        start = self.out.tell()
        await self.console.handle_line(line)
        self.out.seek(start)
        printed = self.out.read()
        self.out.seek(0, io.SEEK_END)
        return printed

    async def settle(self) -> None:
        await self.app.room.wait_idle(timeout=60)

    @property
    def transcript(self) -> str:
        return self.out.getvalue()


@contextlib.asynccontextmanager
async def console_session(
    settings: Settings, user: str = "writer"
) -> AsyncIterator[ConsoleSession]:
    async with build(settings) as app:
        out = io.StringIO()
        console = Console(app.room, user=user, approvers=settings.approvers, out=out)
        await app.room.start()
        try:
            yield ConsoleSession(app, console, out)
        finally:
            await app.room.stop()
