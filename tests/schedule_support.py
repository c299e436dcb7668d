"""Helpers for the schedule and expiry tests: a clock the test moves, a room built with it and
driven through the console, and a personas file with posting slots in a time zone.

The room is the real one (`bot.bootstrap.build` on a SQLite file); only the clock is the
test's, handed to every service through `build(clock=...)`, so nothing sleeps for a schedule.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.bootstrap import build
from bot.console import Console
from bot.settings import Settings
from storage import posts
from tests.support import ConsoleSession

# Monday 2 March 2026, 07:00 UTC: 08:00 in Berlin (UTC+1 until the clocks change on 29 March).
START = datetime(2026, 3, 2, 7, 0, tzinfo=UTC).timestamp()


@dataclass
class MovableClock:
    now: float = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


def personas_file(
    folder: Path, *, jitter: int = 0, extra: str = "", posting: str | None = None
) -> Path:
    """One persona, aiaaron, posting at 09:00, 13:00 and 18:00 Berlin time (`posting` replaces
    those lines)."""
    if posting is None:
        posting = (
            'timezone = "Europe/Berlin"\nslots = ["18:00", "09:00", "13:00"]\n'
            f"jitter_minutes = {jitter}"
        )
    path = folder / "personas.toml"
    path.write_text(
        f"""
default_persona = "aiaaron"

[personas.aiaaron]
display_name = "Aaron"
{posting}
{extra}

[personas.aiaaron.pillars.field_notes]
description = "Close readings of one paper."
default_special = "Generate exactly 1 item: 1 with content_format='text'."
""",
        encoding="utf-8",
    )
    return path


@contextlib.asynccontextmanager
async def clocked_session(
    settings: Settings, clock: MovableClock, user: str = "writer"
) -> AsyncIterator[ConsoleSession]:
    async with build(settings, clock=clock) as app:
        out = io.StringIO()
        console = Console(app.room, user=user, approvers=settings.approvers, out=out)
        await app.room.start()
        try:
            yield ConsoleSession(app, console, out)
        finally:
            await app.room.stop()


async def drafted(session: ConsoleSession, special: str = "1 text") -> None:
    """Plan 1 run to its drafts, proposed by `writer`."""
    await session.type(f'/propose benchmark theater special:"{special}"', user="writer")
    await session.type("/run 1", user="writer")
    await session.settle()


async def post_row(session: ConsoleSession, post_id: int) -> tuple[str, float | None]:
    """The post's status and publish time, as stored."""
    db = session.app.room.deps.db
    post = await posts.get_post(db.reader, post_id)
    assert post is not None
    at = await db.scalar("SELECT publish_at FROM posts WHERE id = ?", (post_id,))
    return post.status, None if at is None else float(at)


def bundles(folder: Path) -> list[str]:
    """What the outbox publisher wrote: one folder per published post."""
    outbox = folder / "outbox"
    found = outbox.iterdir() if outbox.exists() else iter(())
    return sorted(p.name for p in found if p.name.startswith("post-"))


async def sweep(session: ConsoleSession) -> None:
    """One pass of the sweeper, and what it handed to jobs done (PostgreSQL publishes in a
    job, a moment after the sweep)."""
    await session.app.room.catch_up()
    await session.settle()
