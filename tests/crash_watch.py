"""Watching the bot's database while the bot runs, on whichever database the test runs on.

`Watch` keeps one read-only connection open (a test looks many times a second) and tells when
the database may have changed: SQLite's `data_version`, or on PostgreSQL the snapshot of
finished transactions, read in the same REPEATABLE READ snapshot as the look that follows, so a
look sees every commit its marker stands for.

On PostgreSQL the bot's writes are done by the server, not by the process: a COMMIT sent just
before a SIGSTOP is carried out after it. `still` reads only once the bot's sessions (named
`BOT_SESSIONS` through libpq's PGAPPNAME) have finished what they were sent, and reads again if
one did more meanwhile; `sessions_ended` waits, after a SIGKILL, until the server has closed them.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import psycopg

from tests import db_rows, support

BOT_SESSIONS = "draftroom under test"
T = TypeVar("T")

# Every bot process's sessions are named BOT_SESSIONS, or BOT_SESSIONS and its own name after it
# (tests/worker_support.py): the pattern picks all of them, or one process's.
EVERY_BOT = BOT_SESSIONS + "%"
_SESSIONS = (
    "SELECT pid, state, state_change FROM pg_stat_activity"
    " WHERE datname = current_database() AND application_name LIKE ? ORDER BY pid"
)


def bot_environment() -> dict[str, str]:
    """What the bot's environment needs for the running test's database."""
    if support.DATABASE_URL is None:
        return {}
    return {"DATABASE_URL": support.DATABASE_URL, "PGAPPNAME": BOT_SESSIONS}


class Watch:
    def __init__(self, sqlite_path: Path) -> None:
        self.path = sqlite_path
        self.url = support.DATABASE_URL
        self._sqlite: sqlite3.Connection | None = None
        self._pg: psycopg.Connection[Any] | None = None

    def ready(self) -> bool:
        """Connected (SQLite: once the bot has created its file)."""
        if self._sqlite is None and self._pg is None:
            if self.url is not None:
                self._pg = psycopg.connect(self.url, autocommit=True)
            elif self.path.exists():
                uri = f"file:{self.path.resolve()}?mode=ro"
                self._sqlite = sqlite3.connect(uri, uri=True, timeout=5)
            else:
                return False
        return True

    def close(self) -> None:
        for conn in (self._sqlite, self._pg):
            if conn is not None:
                conn.close()
        self._sqlite = self._pg = None

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self._pg is not None:
            cursor = self._pg.execute(sql.replace("%", "%%").replace("?", "%s"), params)
            return [tuple(r) for r in cursor.fetchall()] if cursor.description else []
        assert self._sqlite is not None
        return [tuple(r) for r in self._sqlite.execute(sql, params)]

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[object]:
        """One consistent view of the database; yields its marker of change."""
        if self._pg is None:
            yield self.rows("PRAGMA data_version")[0][0]
            return
        self._pg.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            yield self.rows("SELECT pg_current_snapshot()::text")[0][0]
        finally:
            self._pg.execute("ROLLBACK")

    def still(self, read: Callable[[], T], timeout: float = 10, *, sessions: str = EVERY_BOT) -> T:
        """`read()` while the bot is frozen, once nothing it sent is still being done (its
        sessions: those named like `sessions`; a frozen process's own, when others run on)."""
        if self._pg is None:
            return read()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            before = self.rows(_SESSIONS, (sessions,))
            if any(state == "active" for _, state, _ in before):
                time.sleep(0.0005)
                continue
            found = read()
            if self.rows(_SESSIONS, (sessions,)) == before:
                return found
        raise AssertionError(f"the frozen bot's sessions were still busy after {timeout:g}s")


def sessions_ended(sqlite_path: Path, timeout: float = 10) -> None:
    """After a SIGKILL: the server has closed the bot's sessions (rolled back what they left)."""
    if support.DATABASE_URL is None:
        return
    deadline = time.monotonic() + timeout
    while db_rows.rows(sqlite_path, _SESSIONS, (EVERY_BOT,)):
        assert time.monotonic() < deadline, "the killed bot's sessions are still open"
        time.sleep(0.005)
