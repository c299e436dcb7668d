"""A Discord bot process that keeps crashing backs off before logging in again, so a crash loop
does not spend the IDENTIFYs Discord allows a day. Starts are recorded in the database, so the
count survives the crashes themselves."""

from __future__ import annotations

from pathlib import Path

from bot.discord_client_setup import CRASH_WINDOW_S, crash_loop_delay
from storage import chat
from tests.support import database_for


def test_two_quick_restarts_are_free_then_each_waits_twice_as_long() -> None:
    assert [crash_loop_delay(n) for n in range(8)] == [0, 0, 0, 5, 10, 20, 40, 80]
    assert crash_loop_delay(30) == CRASH_WINDOW_S


async def test_starts_are_counted_per_platform_within_the_window(tmp_path: Path) -> None:
    async with database_for(tmp_path) as db:
        seen = []
        for at in (0.0, 10.0, 20.0, 30.0):
            async with db.transaction() as conn:
                seen.append(await chat.record_start(conn, "discord", now=at, window=300))
        assert seen == [0, 1, 2, 3]
        async with db.transaction() as conn:
            assert await chat.record_start(conn, "slack", now=40.0, window=300) == 0
            assert await chat.record_start(conn, "discord", now=1000.0, window=300) == 0
