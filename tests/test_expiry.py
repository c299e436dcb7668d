"""Approval expiry in the console, with a clock the test moves: a draft not approved within
APPROVAL_EXPIRY_HOURS becomes `expired` and its card says so; a later ✅ only explains; 🔁 makes
a new draft to approve; an approved post waiting for its time never expires."""

from __future__ import annotations

from pathlib import Path

from bot.bootstrap import build
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
from tests.support import make_settings, wait_until


async def test_an_unapproved_draft_expires_its_card_says_so_and_a_later_approval_explains(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path, APPROVAL_EXPIRY_HOURS="2")
    clock = MovableClock()
    async with clocked_session(settings, clock) as session:
        await drafted(session, "2 text")
        await session.type("react post 2 ✅", user="editor")  # post 2 is approved in time
        clock.advance(2 * 3600 - 60)
        await sweep(session)
        assert (await post_row(session, 1))[0] == "awaiting_approval"

        clock.advance(61)
        await sweep(session)
        assert [(await post_row(session, i))[0] for i in (1, 2)] == ["expired", "published"]
        await wait_until(
            lambda: "edited] post 1 · @aiaaron · text · draft 1 · expired" in (session.transcript)
        )
        assert "not approved within 2 hours, so it will not be published" in session.transcript

        said = await session.type("react post 1 ✅", user="editor")
        assert (
            "[only editor sees this] Your ✅ on post 1 does not count: the draft expired "
            "(not approved within 2 hours); 🔁 on it makes a new one." in said
        )
        assert (await post_row(session, 1))[0] == "expired"
        assert bundles(tmp_path) == ["post-2"]
        listed = await session.type("/posts expired", user="writer")
        assert "post 1 · @aiaaron · text · expired" in listed and "post 2" not in listed

    async with clocked_session(settings, clock) as session:  # a restart edits nothing again
        await sweep(session)
        assert session.transcript.count("· expired") == 0
        edits = await session.app.room.deps.db.scalar(
            "SELECT COUNT(*) FROM post_expiries WHERE card_edited_at IS NOT NULL"
        )
        assert edits == 1


async def test_regenerating_an_expired_draft_puts_a_new_one_up_for_approval(
    tmp_path: Path,
) -> None:
    clock = MovableClock()
    async with clocked_session(make_settings(tmp_path), clock) as session:
        await drafted(session)
        clock.advance(72 * 3600)  # the default APPROVAL_EXPIRY_HOURS
        await sweep(session)
        assert (await post_row(session, 1))[0] == "expired"
        await session.type("react post 1 🔁", user="editor")
        await session.settle()
        assert (await post_row(session, 1))[0] == "awaiting_approval"
        await session.type("react post 1 ✅", user="chief")
        await session.settle()
        assert (await post_row(session, 1))[0] == "published"
        assert bundles(tmp_path) == ["post-1"]


async def test_an_approved_post_waiting_for_its_time_never_expires(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, PERSONAS_FILE=str(personas_file(tmp_path)))
    clock = MovableClock()
    async with clocked_session(settings, clock) as session:
        await drafted(session)
        await session.type("/schedule 1 2026-03-06 09:00", user="writer")
        await session.type("react post 1 ✅", user="editor")
        clock.now = utc(2026, 3, 6, 7, 59)  # 97 hours on, a minute before its time
        await sweep(session)
        assert (await post_row(session, 1))[0] == "approved"
        clock.now = utc(2026, 3, 6, 8, 0)
        await sweep(session)
        assert (await post_row(session, 1))[0] == "published"
        assert bundles(tmp_path) == ["post-1"]


async def test_a_card_whose_platform_is_away_at_expiry_is_edited_when_it_is_back(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path)
    clock = MovableClock()
    async with clocked_session(settings, clock) as session:
        await drafted(session)
    clock.advance(73 * 3600)
    async with build(settings, clock=clock) as app:  # no console attached: nowhere to edit
        await app.room.start()
        await app.room.stop()
        post = await posts.get_post(app.room.deps.db.reader, 1)
        assert post is not None and post.status == "expired"
    async with clocked_session(settings, clock) as session:
        await wait_until(
            lambda: "edited] post 1 · @aiaaron · text · draft 1 · expired" in (session.transcript)
        )
        await sweep(session)
        assert session.transcript.count("edited] post 1") == 1
