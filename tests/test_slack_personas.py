"""The personas a Slack workspace writes for, chosen on the App Home: an admin's "Choose
personas" opens a modal listing the install's personas, a default that is not among those chosen
is named on its field and nothing is stored, and once saved the next /propose writes for the
workspace's default and refuses a persona it did not choose, with nothing written or spent."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio

from bot.slack_settings import OPEN_PERSONAS_ACTION
from tests.db_rows import rows
from tests.fakes.slack import FakeSlack
from tests.slack_support import (
    CHANNEL,
    PROPOSER,
    SECRET,
    Bot,
    eventually,
    running_bot,
    slack_settings,
)
from tests.test_slack_settings import ADMIN, WORKSPACE, inputs, open_home, submit

CHOSEN = "SELECT workspace, personas, updated_by FROM workspace_publishing"


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        for user in (PROPOSER, ADMIN):
            slack.add_member(CHANNEL, user)
        slack.add_user(ADMIN, is_admin=True)
        yield slack


@pytest_asyncio.fixture
async def bot(fake: FakeSlack, tmp_path: Path) -> AsyncIterator[Bot]:
    async with running_bot(fake, slack_settings(tmp_path, fake)) as running:
        yield running


def plans(bot: Bot) -> list[tuple[Any, ...]]:
    return rows(bot.app.settings.db_path, "SELECT id, persona FROM plans ORDER BY id")


def steps(bot: Bot) -> list[tuple[Any, ...]]:
    return rows(bot.app.settings.db_path, "SELECT id, cost_usd FROM steps ORDER BY id")


async def open_personas(bot: Bot) -> dict[str, Any]:
    status, _ = await bot.fake.click_home_button(
        bot.url, ADMIN, OPEN_PERSONAS_ACTION, signing_secret=SECRET
    )
    assert status == 200
    await eventually(lambda: ADMIN in bot.fake.open_views)
    return bot.fake.open_views[ADMIN]


async def answered(bot: Bot, text: str) -> str:
    """/propose as PROPOSER; what they read in answer."""
    before = len(bot.fake.ephemerals)
    assert await bot.command("/propose", text) == 200
    await bot.settle()
    return "\n".join(e.text for e in bot.fake.ephemerals[before:])


async def test_an_admin_chooses_the_personas_and_the_next_propose_follows_them(
    bot: Bot, fake: FakeSlack
) -> None:
    await open_home(bot, ADMIN)
    assert "Personas: any of @aiaaron (default), @labnotes (none chosen)" in fake.home_text(ADMIN)

    view = await open_personas(bot)
    assert view["callback_id"] == "draftroom_personas"
    assert json.loads(view["private_metadata"]) == {"workspace": WORKSPACE}
    shown = inputs(view)
    assert [o["value"] for o in shown["personas"]["options"]] == ["aiaaron", "labnotes"]
    assert "initial_options" not in shown["personas"]  # none chosen yet

    answer = await submit(bot, {"personas": ["aiaaron"], "default_persona": "labnotes"})
    assert answer == {
        "response_action": "errors",
        "errors": {"default_persona": "'labnotes' is not one of the personas chosen above"},
    }
    assert rows(bot.app.settings.db_path, CHOSEN) == []
    assert ADMIN in fake.open_views  # the modal stays open with its error

    answer = await submit(bot, {"personas": ["aiaaron", "labnotes"], "default_persona": "labnotes"})
    assert answer == {}
    assert rows(bot.app.settings.db_path, CHOSEN) == [
        (WORKSPACE, "labnotes,aiaaron", f"slack:{ADMIN}")
    ]
    await eventually(
        lambda: "Personas: @labnotes (default), @aiaaron" in fake.home_text(ADMIN)
    )  # fmt: skip

    # No restart: a /propose naming no persona writes for the workspace's default.
    assert await answered(bot, "why evals saturate") == ""
    assert plans(bot) == [(1, "labnotes")]

    # Opened again, the modal holds the choice; the admin narrows it to one persona.
    view = await open_personas(bot)
    assert [o["value"] for o in inputs(view)["personas"]["initial_options"]] == [
        "labnotes",
        "aiaaron",
    ]
    assert await submit(bot, {"personas": ["labnotes"], "default_persona": "labnotes"}) == {}
    calls, spent = len(fake.calls), steps(bot)
    said = await answered(bot, "benchmarks as safety cases persona:aiaaron")
    assert "@aiaaron is not one of this workspace's personas (@labnotes)" in said
    assert plans(bot) == [(1, "labnotes")]  # nothing written
    assert steps(bot) == spent  # nothing asked of a provider
    assert [c.method for c in fake.calls[calls:] if c.method == "chat.postMessage"] == []
