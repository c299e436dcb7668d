"""The console bot as a process, stopped and killed in a named state, and what its chat showed.

`ConsoleBot` starts `python -m bot console` on files under one folder; each start's output goes
to its own file. That output is the console's chat, so drafts are counted there, across
restarts, the way a person reading it would count them (the database's own records cannot show
a draft that was never printed, or printed twice).

The bot stores on the test's database (its SQLite file, or its PostgreSQL database: see
tests/crash_watch.py). `stop_in` watches the database (read only) and the output, and freezes the
process with SIGSTOP as soon as they show the wanted state; it reads them again while nothing can
change, and returns only if the state still holds, so the SIGKILL that follows lands exactly in
it. If the bot got past the state in between, it is let go (SIGCONT) and watched again.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import psycopg

from tests import db_rows, support
from tests.crash_watch import Watch, bot_environment, sessions_ended

DRAFT_CARD = re.compile(r"^\[m(\d+)\] post (\d+) · .* · draft (\d+)$", re.MULTILINE)


def draft_cards(output: str) -> Counter[tuple[int, int]]:
    """How many draft messages each (post, revision) has in a console's output. A message is
    its id: the console shows a message again after a kill between printing it and noting that
    it did (a terminal cannot be asked what it showed), and that is one message, not two."""
    messages = {(int(mid), int(post), int(rev)) for mid, post, rev in DRAFT_CARD.findall(output)}
    return Counter((post, rev) for _, post, rev in messages)


def environment(folder: Path, **extra: str) -> dict[str, str]:
    """The bot's environment for files under `folder` and the running test's database: no
    platform token (the console), and offline providers slow enough (or as slow as `extra`
    says) to be caught mid-call."""
    env = {
        **os.environ,
        **bot_environment(),
        "DRAFTROOM_DB": str(folder / "draftroom.db"),
        "DRAFTROOM_MEDIA_DIR": str(folder / "media"),
        "DRAFTROOM_OUTBOX_DIR": str(folder / "outbox"),
        "OFFLINE_LATENCY_S": "0.4",
        "IMAGE_CONCURRENCY": "1",
        "WEB_PORT": "0",  # the pages on a free port: bots of several tests run at once
        # A killed bot's lease runs out at once: on PostgreSQL the next start takes over what
        # it left only then (another process might still be working on it).
        "PROCESS_LEASE_S": "1",
        **extra,
    }
    for name in ("SLACK_BOT_TOKEN", "DISCORD_BOT_TOKEN"):
        env.pop(name, None)
    if "DATABASE_URL" not in bot_environment():
        env.pop("DATABASE_URL", None)
    return env


def query(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Read the bot's database, read only, beside (or after) the bot; `db` is its SQLite file."""
    if support.DATABASE_URL is not None:
        assert not db.exists(), "on PostgreSQL the bot made a SQLite file"
    return db_rows.rows(db, sql, params)


class ConsoleBot:
    """Starts of the console bot on one folder; `output()` is everything they printed."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder = folder
        self.db = folder / "draftroom.db"
        self.env = env
        self.outputs: list[Path] = []
        self.process: subprocess.Popen[str] | None = None
        self._out: IO[str] | None = None
        self._err: IO[str] | None = None

    def start(self, script: str) -> subprocess.Popen[str]:
        """Start a process and type `script`; its input stays open, so it keeps running."""
        self.outputs.append(self.folder / f"output-{len(self.outputs) + 1}.txt")
        self._out = self.outputs[-1].open("w")
        self._err = (self.folder / f"log-{len(self.outputs)}.txt").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "console"],
            stdin=subprocess.PIPE,
            stdout=self._out,
            # The log, for reading when a test fails (the chat is stdout).
            stderr=self._err,
            text=True,
            cwd=self.folder,
            env=self.env,
        )
        assert self.process.stdin is not None
        self.process.stdin.write(script)
        self.process.stdin.flush()
        return self.process

    def __enter__(self) -> ConsoleBot:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.kill()  # never leave a process behind, running or frozen

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self._closed()
        sessions_ended(self.db)

    def seen(self) -> Seen:
        """What the database and the last start's output show now."""
        with Watch(self.db) as watch:
            return _look_once(watch, self.outputs[-1]) if watch.ready() else Seen()

    def run_to_rest(self, script: str = "wait\n", timeout: float = 120) -> int:
        """Start, type `script`, end the input: the console finishes its work and exits."""
        process = self.start(script)
        assert process.stdin is not None
        process.stdin.close()
        code = process.wait(timeout=timeout)
        self._closed()
        return code

    def _closed(self) -> None:
        if self.process is not None and self.process.stdin is not None:
            self.process.stdin.close()
        if self._out is not None:
            self._out.close()
        if self._err is not None:
            self._err.close()

    def output(self) -> str:
        return "".join(path.read_text() for path in self.outputs)


@dataclass
class Seen:
    """What the database file and the current process's output show at one moment."""

    runs: int = 0
    run_over: bool = False  # the run finished (done or failed)
    posts: dict[int, tuple[int, str]] = field(default_factory=dict)  # id -> (rev, status)
    done: int = 0  # steps done
    done_by_name: Counter[str] = field(default_factory=Counter)
    unfinished: int = 0  # run steps queued or running
    # draft delivery key -> (platform message id recorded, console message number if sent)
    drafts: dict[str, tuple[str | None, int | None]] = field(default_factory=dict)
    printed: Counter[tuple[int, int]] = field(default_factory=Counter)

    @property
    def recorded(self) -> int:
        """Drafts posted and recorded as posted."""
        return sum(1 for message_id, _ in self.drafts.values() if message_id is not None)

    @property
    def ready_unreserved(self) -> list[int]:
        """Posts finished and waiting for approval whose draft is not reserved for posting."""
        return [
            post_id
            for post_id, (rev, status) in self.posts.items()
            if status == "awaiting_approval" and f"draft:{post_id}:{rev}" not in self.drafts
        ]

    @property
    def reserved_unsent(self) -> list[str]:
        """Drafts reserved for posting that the console has not taken."""
        return [k for k, (mid, sent) in self.drafts.items() if mid is None and sent is None]

    @property
    def shown_unrecorded(self) -> list[str]:
        """Drafts printed by the console, not yet recorded as posted."""
        return [
            key
            for key, (mid, _) in self.drafts.items()
            if mid is None and self.printed[_post_rev(key)] > 0
        ]

    @property
    def settled(self) -> bool:
        """The run is over and every draft it made is posted and recorded: nothing more to see."""
        pending = self.ready_unreserved or any(mid is None for mid, _ in self.drafts.values())
        return self.run_over and not pending


def _post_rev(key: str) -> tuple[int, int]:
    _, post, rev = key.split(":")
    return int(post), int(rev)


def look(watch: Watch, output: Path) -> Seen:
    """What the database (in the watch's snapshot) and the output show."""
    seen = Seen()
    read = watch.rows
    try:
        [(seen.runs, over)] = read(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN status IN ('done', 'failed')"
            " THEN 1 ELSE 0 END), 0) FROM runs"
        )
        seen.run_over = seen.runs > 0 and over == seen.runs
        seen.posts = {
            post_id: (rev, status)
            for post_id, rev, status in read("SELECT id, rev, status FROM posts")
        }
        for name, status, run_id in read("SELECT name, status, run_id FROM steps"):
            if status == "done":
                seen.done_by_name[name] += 1
            elif run_id is not None and status in ("queued", "running"):
                seen.unfinished += 1
        seen.done = sum(seen.done_by_name.values())
        seen.drafts = {
            key: (message_id, sent)
            for key, message_id, sent in read(
                "SELECT d.key, d.message_id, c.id FROM deliveries d"
                " LEFT JOIN console_messages c ON c.idempotency_key = d.key"
                " WHERE d.key LIKE 'draft:%'"
            )
        }
    except (sqlite3.OperationalError, psycopg.errors.UndefinedTable):
        return Seen()  # the schema is not created yet
    seen.printed = draft_cards(output.read_text())
    return seen


class NotCaughtError(AssertionError):
    """The bot got past the state (or ended) before it could be stopped in it."""


def stop_in(bot: ConsoleBot, state: Callable[[Seen], bool], timeout: float = 30) -> Seen:
    """Freeze the running process in `state` (see the module docstring) and return what the
    database and its output show then; raise NotCaughtError if it never was."""
    process, output = bot.process, bot.outputs[-1]
    assert process is not None
    deadline = time.monotonic() + timeout
    last: tuple[object, int] | None = None
    with Watch(bot.db) as watch:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise NotCaughtError(f"the bot exited ({process.returncode}) before the state")
            if not watch.ready():
                time.sleep(0.001)
                continue
            with watch.snapshot() as changes:
                # Look again only when the database or the output changed since the last look.
                marker = (changes, output.stat().st_size)
                if marker == last:
                    seen = None
                else:
                    last, seen = marker, look(watch, output)
            if seen is None:
                time.sleep(0.0001)
                continue
            if seen.settled:
                raise NotCaughtError("the run finished without passing through the state")
            if not state(seen):
                time.sleep(0.0001)
                continue
            freeze(process)
            seen = watch.still(lambda: _look_once(watch, output))
            if state(seen):
                return seen
            process.send_signal(signal.SIGCONT)
            last = None
        raise NotCaughtError(f"not in the state within {timeout:g}s")


def _look_once(watch: Watch, output: Path) -> Seen:
    with watch.snapshot():
        return look(watch, output)


def freeze(process: subprocess.Popen[str]) -> None:
    """SIGSTOP the bot and wait until it is stopped; NotCaughtError if it ended instead."""
    process.send_signal(signal.SIGSTOP)
    _, status = os.waitpid(process.pid, os.WUNTRACED)
    if not os.WIFSTOPPED(status):
        process.returncode = os.waitstatus_to_exitcode(status)
        raise NotCaughtError(f"the bot exited ({process.returncode}) before the state")
