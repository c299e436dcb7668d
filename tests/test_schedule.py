"""Scheduled publishing in the console, with a clock the test moves: a post waits for its time
across a restart and is published once; a withdrawn approval publishes nothing; `next` picks the
persona's next free slot in its time zone; a late approval moves the post and says so; bad
input is refused and writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.bootstrap import build
from bot.errors import ConfigError
from handlers.commands import ListPosts
from handlers.ports import Invocation, UserError
from storage import posts
from tests.schedule_support import (
    MovableClock,
    bundles,
    clocked_session,
    drafted,
    personas_file,
    post_row,
    sweep,
    utc,
)
from tests.support import make_settings

BERLIN_13 = "2026-03-02 13:00 Europe/Berlin (2026-03-02 12:00 UTC)"


async def test_a_post_scheduled_across_a_restart_publishes_once_at_its_time(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path, PERSONAS_FILE=str(personas_file(tmp_path)))
    clock = MovableClock()
    async with clocked_session(settings, clock) as session:
        await drafted(session)
        said = await session.type("/schedule 1 2026-03-02 13:00", user="writer")
        assert f"post 1 is scheduled for {BERLIN_13}" in said
        await session.type("react post 1 ✅", user="editor")
        await session.settle()
        assert await post_row(session, 1) == ("approved", utc(2026, 3, 2, 12))
        assert bundles(tmp_path) == []  # held until its time

    clock.now = utc(2026, 3, 2, 11, 59)
    async with clocked_session(settings, clock) as session:  # start() has swept once already
        await sweep(session)
        assert (await post_row(session, 1))[0] == "approved"
        assert bundles(tmp_path) == []

        clock.now = utc(2026, 3, 2, 12, 0) + 1
        await sweep(session)
        await sweep(session)
        assert (await post_row(session, 1))[0] == "published"
        assert bundles(tmp_path) == ["post-1"]

    async with clocked_session(settings, clock) as session:
        await sweep(session)
        sent = await session.app.room.deps.db.scalar(
            "SELECT COUNT(*) FROM console_messages WHERE text LIKE 'post 1 is published%'"
        )
        assert sent == 1
        assert bundles(tmp_path) == ["post-1"]


async def test_an_approval_withdrawn_before_its_time_publishes_nothing(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, PERSONAS_FILE=str(personas_file(tmp_path)))
    clock = MovableClock()
    async with clocked_session(settings, clock) as session:
        await drafted(session)
        await session.type("/schedule 1 13:00", user="writer")
        await session.type("react post 1 ✅", user="editor")
        assert (await post_row(session, 1))[0] == "approved"
        clock.advance(3600)
        await session.type("unreact post 1 ✅", user="editor")
        assert (await post_row(session, 1))[0] == "awaiting_approval"

        clock.now = utc(2026, 3, 2, 12, 30)
        await sweep(session)
        assert await post_row(session, 1) == ("awaiting_approval", utc(2026, 3, 2, 12))
        assert bundles(tmp_path) == []


async def test_next_takes_the_next_free_slot_in_the_personas_zone(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, PERSONAS_FILE=str(personas_file(tmp_path)))
    clock = MovableClock()  # 08:00 in Berlin
    async with clocked_session(settings, clock) as session:
        await drafted(session, "3 text")
        said = await session.type("/schedule 1 next", user="writer")
        assert "post 1 is scheduled for 2026-03-02 09:00 Europe/Berlin (2026-03-02 08:00 UTC)" in (
            said
        )
        said = await session.type("/schedule 2 next", user="writer")  # 09:00 is taken
        assert f"post 2 is scheduled for {BERLIN_13}" in said
        # 08:57: 09:00 is too close for an approval to be in time; 13:00 is taken too.
        clock.now = utc(2026, 3, 2, 7, 57)
        await session.type("/unschedule 1", user="writer")
        said = await session.type("/schedule 3 next", user="editor")
        assert "post 3 is scheduled for 2026-03-02 18:00 Europe/Berlin" in said
        assert [await post_row(session, i) for i in (1, 2, 3)] == [
            ("awaiting_approval", None),
            ("awaiting_approval", utc(2026, 3, 2, 12)),
            ("awaiting_approval", utc(2026, 3, 2, 17)),
        ]
        listed = await session.type("/posts scheduled", user="stranger")
        assert listed.index("post 2 · @aiaaron · 2026-03-02 13:00 Europe/Berlin") < listed.index(
            "post 3 · @aiaaron · 2026-03-02 18:00 Europe/Berlin"
        )
        assert "post 1 ·" not in listed
        typed = await session.app.room.execute(  # Discord's /posts status:scheduled
            Invocation("console", "console", "stranger"), ListPosts(status="scheduled")
        )
        assert typed is not None and typed.card.title == "2 scheduled posts, soonest first"


async def test_the_jitter_delays_a_slot_by_at_most_its_minutes(tmp_path: Path) -> None:
    path = personas_file(tmp_path, jitter=5)
    settings = make_settings(tmp_path, PERSONAS_FILE=str(path))
    async with clocked_session(settings, MovableClock()) as session:
        await drafted(session, "2 text")
        await session.type("/schedule 1 next", user="writer")
        await session.type("/schedule 2 next", user="writer")
        (_, first), (_, second) = await post_row(session, 1), await post_row(session, 2)
        assert first is not None and utc(2026, 3, 2, 8) <= first <= utc(2026, 3, 2, 8, 5)
        assert second is not None and utc(2026, 3, 2, 12) <= second <= utc(2026, 3, 2, 12, 5)


async def test_a_late_approval_moves_the_post_to_the_next_slot_and_says_so(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path, PERSONAS_FILE=str(personas_file(tmp_path)))
    clock = MovableClock()
    async with clocked_session(settings, clock) as session:
        await drafted(session, "1 video, 1 text")
        db = session.app.room.deps.db
        video = await db.scalar("SELECT id FROM posts WHERE content_format = 'video'")
        text = await db.scalar("SELECT id FROM posts WHERE content_format = 'text'")
        await session.type(f"/schedule {text} 09:00", user="writer")
        await session.type(f"/schedule {video} 2026-03-02T18:00+01:00", user="writer")

        clock.now = utc(2026, 3, 2, 7, 57)  # 3 minutes before the text post's 09:00
        await session.type(f"react post {text} ✅", user="editor")
        assert await post_row(session, text) == ("approved", utc(2026, 3, 2, 12))
        assert (
            f"post {text} was approved 3 min before its time, 2026-03-02 09:00 Europe/Berlin"
            in session.transcript
        )
        assert f"so it moves to the next free slot: {BERLIN_13}." in session.transcript

        clock.now = utc(2026, 3, 2, 16, 50)  # 10 minutes before the video's 18:00: too late
        await session.type(f"react post {video} ✅", user="editor")
        status, moved = await post_row(session, video)
        assert status == "approved" and moved == utc(2026, 3, 3, 8)  # 09:00 the next day
        assert "an approval needs 15 minutes" in session.transcript

        clock.now = utc(2026, 3, 2, 17, 1)
        await sweep(session)
        assert bundles(tmp_path) == [f"post-{text}"]  # 13:00 came; the video waits for tomorrow


async def test_unschedule_publishes_an_approved_post_at_once(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, PERSONAS_FILE=str(personas_file(tmp_path)))
    async with clocked_session(settings, MovableClock()) as session:
        await drafted(session)
        await session.type("/schedule 1 18:00", user="writer")
        await session.type("react post 1 ✅", user="editor")
        assert bundles(tmp_path) == []
        said = await session.type("/unschedule 1", user="writer")
        assert "post 1 is no longer scheduled" in said and "published now" in said
        await session.settle()
        assert (await post_row(session, 1))[0] == "published"
        assert bundles(tmp_path) == ["post-1"]


async def test_bad_input_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, PERSONAS_FILE=str(personas_file(tmp_path)))
    async with clocked_session(settings, MovableClock()) as session:  # 08:00 in Berlin
        await drafted(session)
        refused = {
            "/schedule 1 yesterday": "`yesterday` is not a time; use `next`, `HH:MM`",
            "/schedule 1 07:30": "is in the past; it is now 2026-03-02 08:00 Europe/Berlin",
            "/schedule 1 2026-03-02T08:30+02:00": "(2026-03-02 07:30 Europe/Berlin",
            "/schedule 1 2026-03-29 02:30": "does not exist in Europe/Berlin",
            "/schedule 1 2026-02-30 10:00": "is not a date and time I can read",
            "/schedule 1": "give the post and a time",
            "/schedule 9 next": "there is no post 9 here",
            "/unschedule 1": "post 1 has no time to remove",
        }
        for line, reason in refused.items():
            said = await session.type(line, user="writer")
            assert "⚠" in said and reason in said, (line, said)
        said = await session.type("/schedule 1 next", user="stranger")
        assert "only the proposer of post 1's plan, the approvers and the editors" in said
        room = session.app.room
        try:
            await room.command(Invocation("console", "elsewhere", "writer"), "schedule", "1 next")
            raise AssertionError("a post of another channel was scheduled")
        except UserError as exc:
            assert "there is no post 1 here" in str(exc)
        assert await post_row(session, 1) == ("awaiting_approval", None)
        by = await room.deps.db.scalar("SELECT scheduled_by FROM posts WHERE id = 1")
        assert by is None

        await session.type("react post 1 ✅", user="editor")  # published at once: no time set
        await session.settle()
        said = await session.type("/schedule 1 next", user="writer")
        assert "post 1 is published; its time can no longer change" in said
        post = await posts.get_post(room.deps.db.reader, 1)
        assert post is not None and post.status == "published"
        assert await post_row(session, 1) == ("published", None)


async def test_a_personas_file_with_an_unknown_time_zone_or_bad_slots_is_refused(
    tmp_path: Path,
) -> None:
    cases = {
        'timezone = "Mars/Olympus"': "timezone 'Mars/Olympus', which is not a known IANA time zone",
        'slots = ["9am"]': 'slots must be a list of local times like ["09:00", "13:00", "18:00"]',
        "jitter_minutes = -1": "jitter_minutes must be a whole number from 0 to 60",
        "daily_cap = 0": "daily_cap must be a whole number of at least 1",
    }
    for line, reason in cases.items():
        folder = tmp_path / str(len(reason))
        folder.mkdir()
        path = personas_file(folder, posting=line)
        with pytest.raises(ConfigError) as refused:
            async with build(make_settings(folder, PERSONAS_FILE=str(path))):
                pass
        assert reason in str(refused.value) and "persona 'aiaaron'" in str(refused.value)
        assert not (folder / "draftroom.db").exists()  # refused before anything was written


async def test_a_daily_cap_sends_next_to_the_following_day(tmp_path: Path) -> None:
    path = personas_file(tmp_path, extra="daily_cap = 1")
    async with clocked_session(
        make_settings(tmp_path, PERSONAS_FILE=str(path)), MovableClock()
    ) as (session):
        await drafted(session, "2 text")
        await session.type("/schedule 1 next", user="writer")
        said = await session.type("/schedule 2 next", user="writer")
        assert "post 2 is scheduled for 2026-03-03 09:00 Europe/Berlin" in said


async def test_the_post_card_says_when_a_post_is_scheduled(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, PERSONAS_FILE=str(personas_file(tmp_path)))
    async with clocked_session(settings, MovableClock()) as session:
        await drafted(session)
        assert "scheduled for" not in await session.type("/post 1")
        await session.type("/schedule 1 2026-03-02 13:00", user="writer")
        card = await session.type("/post 1")
        assert f"scheduled for {BERLIN_13} (/unschedule 1 takes it off)" in card
        await session.type("/unschedule 1", user="writer")
        assert "scheduled for" not in await session.type("/post 1")
