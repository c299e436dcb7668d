"""SIGKILL at ten points while an approved post publishes to Bluesky, Mastodon and X, then a
restart: each network holds exactly one post (counted at the fakes, which speak the protocols
the atproto SDK, Mastodon.py and tweepy use), every publication record ends published, and the
draft's thread says so once.

The bot runs as the console process (`python -m bot console`); the fakes run in the test's event
loop. A point is either a request a fake holds (before or after doing what it asks: the second
is the unknown outcome every network client must survive), or a state of the database in which
the bot is frozen (SIGSTOP) and then killed.
"""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import support
from tests.crash_support import ConsoleBot, NotCaughtError, environment, freeze
from tests.crash_watch import Watch
from tests.db_rows import rows
from tests.fakes.bluesky_server import FakeBluesky
from tests.fakes.mastodon_server import STATUSES, FakeMastodon
from tests.fakes.x_twitter_server import FakeX
from tests.support import wait_until

SCRIPT = """/propose short takes special:"Generate exactly 1 items: 1 with content_format='text'."
/run 1
wait
as editor
react post 1 ✅
"""
TRIES = 5  # fresh runs, for a state the bot may pass between two looks (a loaded machine)
PUBLISHED = re.compile(r"^\[m(\d+)(?: ↳ m\d+)?\] post 1 is published, revision 1: ", re.MULTILINE)


@dataclass
class Fakes:
    bluesky: FakeBluesky
    mastodon: FakeMastodon
    x: FakeX


def personas(folder: Path, fakes: Fakes) -> Path:
    path = folder / "personas.toml"
    path.write_text(
        f"""default_persona = "aiaaron"

[personas.aiaaron]
default_pillar = "notes"

[personas.aiaaron.pillars.notes]
description = "Short notes."

[[personas.aiaaron.destinations]]
kind = "bluesky"
handle = "{fakes.bluesky.handle}"
app_password_setting = "AIAARON_BLUESKY_APP_PASSWORD"

[[personas.aiaaron.destinations]]
kind = "mastodon"
instance = "{fakes.mastodon.url}"
access_token_setting = "AIAARON_MASTODON_TOKEN"
handle = "{fakes.mastodon.username}"

[[personas.aiaaron.destinations]]
kind = "x"
handle = "{fakes.x.username}"
consumer_key_setting = "AIAARON_X_CONSUMER_KEY"
consumer_secret_setting = "AIAARON_X_CONSUMER_SECRET"
access_token_setting = "AIAARON_X_ACCESS_TOKEN"
access_token_secret_setting = "AIAARON_X_ACCESS_TOKEN_SECRET"
""",
        encoding="utf-8",
    )
    return path


def bot_environment(folder: Path, fakes: Fakes) -> dict[str, str]:
    return environment(
        folder,
        OFFLINE_LATENCY_S="0",
        PERSONAS_FILE=str(personas(folder, fakes)),
        BLUESKY_SERVICE_URL=fakes.bluesky.url,
        X_API_URL=fakes.x.url,
        AIAARON_BLUESKY_APP_PASSWORD="abcd-efgh-ijkl-mnop",
        AIAARON_MASTODON_TOKEN=fakes.mastodon.token,
        AIAARON_X_CONSUMER_KEY=fakes.x.consumer_key,
        AIAARON_X_CONSUMER_SECRET=fakes.x.consumer_secret,
        AIAARON_X_ACCESS_TOKEN=fakes.x.access_token,
        AIAARON_X_ACCESS_TOKEN_SECRET=fakes.x.access_token_secret,
    )


def states(db: Path) -> dict[str, str]:
    found = rows(db, "SELECT destination, state FROM publication_targets WHERE post_id = 1")
    return {str(kind): str(state) for kind, state in found}


def post_status(db: Path) -> str | None:
    found = rows(db, "SELECT status FROM posts WHERE id = 1")
    return str(found[0][0]) if found else None


ALL_PUBLISHED = {"bluesky": "published", "mastodon": "published", "x": "published"}
Setup = Callable[[Fakes], None]
Reached = Callable[[Fakes, Path], bool]
POINTS: dict[str, tuple[Setup, Reached, bool]] = {
    # name: (what the fakes do, when the point is reached, freeze the bot first)
    "bluesky login held": (
        lambda f: f.bluesky.stall("com.atproto.server.createSession", after=False),
        lambda f, db: f.bluesky.calls["com.atproto.server.createSession"] >= 1,
        False,
    ),
    "bluesky read-back held": (
        lambda f: f.bluesky.stall("com.atproto.repo.getRecord", after=False),
        lambda f, db: f.bluesky.calls["com.atproto.repo.getRecord"] >= 1,
        False,
    ),
    "bluesky post made, answer held": (
        lambda f: f.bluesky.stall("com.atproto.repo.createRecord", after=True),
        lambda f, db: len(f.bluesky.posts) == 1,
        False,
    ),
    "mastodon claimed": (
        lambda f: None,
        lambda f, db: states(db).get("mastodon") == "publishing",
        True,
    ),
    "mastodon status made, answer held": (
        lambda f: setattr(f.mastodon, "answer_delay_s", 60.0),
        lambda f, db: len(f.mastodon.statuses) == 1,
        False,
    ),
    "x account read held": (
        lambda f: f.x.stall(method="GET", path="/2/users/me"),
        lambda f, db: "GET /2/users/me" in f.x.calls,
        False,
    ),
    "x post made, answer held": (
        lambda f: f.x.stall(method="POST", path="/2/tweets"),
        lambda f, db: len(f.x.posts) == 1,
        False,
    ),
    "x claimed, the others published": (
        lambda f: None,
        lambda f, db: (
            states(db) == {"bluesky": "published", "mastodon": "published", "x": "publishing"}
        ),
        True,
    ),
    "x read-back held": (
        lambda f: f.x.stall(method="GET", path=f"/2/users/{f.x.user_id}/tweets"),
        lambda f, db: f"GET /2/users/{f.x.user_id}/tweets" in f.x.calls,
        False,
    ),
    "post published, not announced": (
        lambda f: None,
        lambda f, db: (
            post_status(db) == "published"
            and not rows(
                db,
                "SELECT 1 FROM deliveries WHERE key = 'published:1:1' AND message_id IS NOT NULL",
            )
        ),
        True,
    ),
}


async def kill_when(bot: ConsoleBot, fakes: Fakes, reached: Reached, freeze_first: bool) -> None:
    """SIGKILL the bot once `reached` holds. With `freeze_first` (a state of the database, which may
    last a millisecond) a thread watches every change of the file, stops the bot as soon as it
    shows the state and looks again, so the kill lands in that very state."""
    process = bot.process
    assert process is not None
    if freeze_first:
        await asyncio.to_thread(freeze_when, process, bot.db, lambda: reached(fakes, bot.db))
    else:
        await wait_until(lambda: reached(fakes, bot.db) or process.poll() is not None, timeout=60)
        assert process.poll() is None, "the bot exited before the point"
    await asyncio.to_thread(bot.kill)


def freeze_when(process: subprocess.Popen[str], db: Path, reached: Callable[[], bool]) -> None:
    """Freeze the bot in the state; NotCaughtError when it got past it first (the states follow
    each other once: passed, it does not come back)."""
    deadline = time.monotonic() + 60
    seen = False
    with Watch(db) as watch:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise NotCaughtError("the bot exited before the point")
            if not reached():
                if seen:
                    raise NotCaughtError("the bot passed the state before it was frozen in it")
                time.sleep(0.0002)
                continue
            seen = True
            freeze(process)
            if watch.ready() and watch.still(reached):
                return
            process.send_signal(signal.SIGCONT)
    raise NotCaughtError("the bot never showed the state")


@pytest.mark.parametrize("point", list(POINTS))
async def test_a_kill_while_publishing_to_three_networks_posts_once_each(
    point: str, tmp_path: Path
) -> None:
    setup, reached, freeze_first = POINTS[point]
    for attempt in range(1, TRIES + 1):
        folder = tmp_path / f"try-{attempt}"
        folder.mkdir()
        if attempt > 1:
            support.start_afresh()  # the next try's story from the start, on its own database
        if await killed_and_restarted(folder, setup, reached, freeze_first):
            return
    raise AssertionError(f"the bot passed the state in each of {TRIES} runs")


async def killed_and_restarted(
    folder: Path, setup: Callable[[Fakes], None], reached: Reached, freeze_first: bool
) -> bool:
    """One try on fresh fakes: False when the bot got past the point before it was killed."""
    async with FakeBluesky() as bluesky, FakeMastodon() as mastodon, FakeX() as x:
        fakes = Fakes(bluesky, mastodon, x)
        with ConsoleBot(folder, bot_environment(folder, fakes)) as bot:
            setup(fakes)
            bot.start(SCRIPT)
            try:
                await kill_when(bot, fakes, reached, freeze_first)
            except NotCaughtError:
                return False
            mastodon.answer_delay_s = 0.0
            code = await asyncio.to_thread(bot.run_to_rest, "wait\n")
            assert code == 0
        assert len(bluesky.posts) == 1
        assert len(mastodon.statuses) == 1
        assert len(x.posts) == 1
        assert states(bot.db) == ALL_PUBLISHED
        assert post_status(bot.db) == "published"
        announced = {int(m) for m in PUBLISHED.findall(bot.output())}
        assert len(announced) == 1, bot.output()[-2000:]
        assert len(mastodon.requests_to("POST", STATUSES)) >= 1
        return True
