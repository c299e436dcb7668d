"""`draftroom doctor` on each persona's social networks, against the fake Bluesky, Mastodon and X:
accepted credentials are ok; a refused one or one not set is a problem naming its setting; and
nothing is posted anywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.doctor import run_checks
from tests.fakes.bluesky_server import FakeBluesky
from tests.fakes.mastodon_server import FakeMastodon
from tests.fakes.x_twitter_server import FakeX
from tests.support import make_settings
from tests.test_crash_networks import Fakes, bot_environment


async def checks_of(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fakes: Fakes, **wrong: str
) -> dict[str, tuple[str, str]]:
    env = {**bot_environment(tmp_path, fakes), **wrong}
    for name, value in env.items():
        if name.startswith(("AIAARON_", "BLUESKY_", "X_API")):
            if value:
                monkeypatch.setenv(name, value)
            else:
                monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env
    settings = make_settings(tmp_path, PERSONAS_FILE=env["PERSONAS_FILE"])
    found = await run_checks(settings)
    return {c.name: (c.level, c.line()) for c in found if c.name.endswith("for @aiaaron")}


async def test_accepted_credentials_are_ok_and_nothing_is_posted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with FakeBluesky() as bluesky, FakeMastodon() as mastodon, FakeX() as x:
        found = await checks_of(tmp_path, monkeypatch, Fakes(bluesky, mastodon, x))
        assert {name: level for name, (level, _) in found.items()} == {
            "bluesky for @aiaaron": "ok",
            "mastodon for @aiaaron": "ok",
            "x for @aiaaron": "ok",
        }
        assert "the token is @aiaaron's." in found["mastodon for @aiaaron"][1]
        assert f"the keys are @{x.username}'s." in found["x for @aiaaron"][1]
        assert not bluesky.posts and not mastodon.statuses and not x.posts


async def test_refused_or_missing_credentials_are_problems_naming_their_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with FakeBluesky() as bluesky, FakeMastodon() as mastodon, FakeX() as x:
        found = await checks_of(
            tmp_path,
            monkeypatch,
            Fakes(bluesky, mastodon, x),
            AIAARON_BLUESKY_APP_PASSWORD="wrong-pass-word-here",
            AIAARON_MASTODON_TOKEN="",
            AIAARON_X_ACCESS_TOKEN_SECRET="not-the-secret",
        )
        bsky_level, bsky = found["bluesky for @aiaaron"]
        assert bsky_level == "problem" and "set AIAARON_BLUESKY_APP_PASSWORD." in bsky
        masto_level, masto = found["mastodon for @aiaaron"]
        assert masto_level == "problem"
        assert "AIAARON_MASTODON_TOKEN, which is not set. Fix: set AIAARON_MASTODON_TOKEN" in masto
        x_level, x_line = found["x for @aiaaron"]
        assert x_level == "problem" and "X refuses the keys (401)" in x_line
        assert "AIAARON_X_ACCESS_TOKEN_SECRET" in x_line
        assert "wrong-pass-word-here" not in bsky and "not-the-secret" not in x_line
        assert not bluesky.posts and not mastodon.statuses and not x.posts
