"""A Slack workspace's settings through the App Home: an admin sees them and a button, the
button opens a modal pre-filled with them, the submission is checked whole (each wrong field on
its own input block, nothing written) and, once saved, decides the next approval without a
restart. The bot in HTTP mode against the fake Slack, which checks the modal and its trigger_id
as Slack does."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.slack_settings import OPEN_ACTION
from tests.db_rows import rows
from tests.fakes.slack import FakeSlack
from tests.slack_support import (
    APPROVER,
    CHANNEL,
    OUTSIDER,
    PROPOSER,
    SECRET,
    Bot,
    eventually,
    propose_and_run,
    running_bot,
    slack_settings,
)

ADMIN = "UADMIN"
NEW_APPROVER = "UNEWAPPROVER"
WORKSPACE = "slack:T0001"
SETTINGS_ROWS = (
    "SELECT workspace, approvers, editors, approvals_required, allow_self_approval,"
    " daily_budget_usd, updated_by FROM workspace_settings"
)
GOOD: dict[str, str | list[str] | None] = {
    "approvers": [NEW_APPROVER],
    "editors": [],
    "approvals_required": "1",
    "allow_self_approval": "no",
    "daily_budget_usd": "12.50",
}


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        for user in (APPROVER, PROPOSER, OUTSIDER, ADMIN, NEW_APPROVER):
            slack.add_member(CHANNEL, user)
        slack.add_user(ADMIN, is_admin=True)
        yield slack


@pytest_asyncio.fixture
async def bot(fake: FakeSlack, tmp_path: Path) -> AsyncIterator[Bot]:
    async with running_bot(fake, slack_settings(tmp_path, fake)) as running:
        yield running


def stored(bot: Bot) -> list[tuple[Any, ...]]:
    return rows(bot.app.settings.db_path, SETTINGS_ROWS)


async def open_home(bot: Bot, user: str) -> None:
    published = [c for c in bot.fake.calls if c.method == "views.publish" and c.ok]
    assert await bot.event(bot.fake.app_home_opened(user)) == 200
    await eventually(
        lambda: (
            len([c for c in bot.fake.calls if c.method == "views.publish" and c.ok])
            > len(published)
        )
    )


async def open_settings(bot: Bot, user: str = ADMIN) -> dict[str, Any]:
    status, _ = await bot.fake.click_home_button(bot.url, user, OPEN_ACTION, signing_secret=SECRET)
    assert status == 200
    await eventually(lambda: user in bot.fake.open_views)
    return bot.fake.open_views[user]


async def submit(bot: Bot, values: dict[str, Any], user: str = ADMIN) -> dict[str, Any]:
    status, body = await bot.fake.submit_view(bot.url, user, values, signing_secret=SECRET)
    assert status == 200
    return json.loads(body) if body.strip() else {}


def inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}


async def approve(bot: Bot, ts: str, user: str) -> None:
    event = bot.fake.reaction_event(
        "reaction_added", user=user, reaction="white_check_mark", channel=CHANNEL, ts=ts
    )
    assert await bot.event(event) == 200
    await bot.settle()


async def status_of(bot: Bot, post_id: int) -> str:
    found = rows(bot.app.settings.db_path, "SELECT status FROM posts WHERE id = ?", (post_id,))
    return str(found[0][0])


async def test_an_admin_changes_the_settings_and_the_next_approval_follows_them(
    bot: Bot, fake: FakeSlack
) -> None:
    await open_home(bot, ADMIN)
    home = fake.home_text(ADMIN)
    assert "*Settings*" in home
    assert f"Approvers: <@{APPROVER}>, <@{PROPOSER}>" in home
    assert "Not set for this workspace yet" in home

    view = await open_settings(bot)
    assert view["callback_id"] == "draftroom_settings"
    assert json.loads(view["private_metadata"]) == {"workspace": WORKSPACE}
    shown = inputs(view)
    assert shown["approvers"]["type"] == "multi_users_select"
    assert shown["approvers"]["initial_users"] == [APPROVER, PROPOSER]  # the .env's
    assert "initial_users" not in shown["editors"]
    assert shown["approvals_required"]["initial_value"] == "1"
    assert shown["allow_self_approval"]["initial_option"]["value"] == "no"
    assert "initial_value" not in shown["daily_budget_usd"]

    answer = await submit(bot, {**GOOD, "approvals_required": "0"})
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"approvals_required"}
    assert "from 1 to 10" in answer["errors"]["approvals_required"]
    answer = await submit(bot, {**GOOD, "approvals_required": "2"})  # one approver named
    assert answer["errors"] == {
        "approvals_required": "2 approvals need at least 2 approvers; 1 is named"
    }
    assert stored(bot) == []
    assert ADMIN in fake.open_views  # the modal stays open with its errors

    assert await submit(bot, GOOD) == {}
    assert ADMIN not in fake.open_views
    assert stored(bot) == [
        (WORKSPACE, f"slack:{NEW_APPROVER}", "", 1, pytest.approx(0), 12.5, f"slack:{ADMIN}")
    ]
    await eventually(lambda: f"Approvers: <@{NEW_APPROVER}>" in fake.home_text(ADMIN))
    assert "Daily budget: $12.50" in fake.home_text(ADMIN)

    # No restart: the old .env approver's ✅ no longer counts, the new approver's publishes.
    [draft] = await propose_and_run(bot)
    await approve(bot, draft.ts, APPROVER)
    assert await status_of(bot, 1) == "awaiting_approval"
    await approve(bot, draft.ts, NEW_APPROVER)
    assert await status_of(bot, 1) == "published"


async def test_someone_not_an_admin_sees_no_settings_and_a_forged_save_is_refused(
    bot: Bot, fake: FakeSlack
) -> None:
    await open_home(bot, OUTSIDER)
    assert "Settings" not in fake.home_text(OUTSIDER)
    with pytest.raises(LookupError):
        fake.home_block_action_payload(OUTSIDER, OPEN_ACTION)

    await open_home(bot, ADMIN)
    view = await open_settings(bot)
    # The outsider sends the admin's modal back as their own, with good values.
    payload = fake.view_submission_payload(OUTSIDER, view, GOOD)
    status, body = await fake.send_interactive(bot.url, payload, signing_secret=SECRET)
    assert status == 200
    answer = json.loads(body)
    assert answer["response_action"] == "errors"
    assert list(answer["errors"]) == ["approvers"]
    assert answer["errors"]["approvers"].startswith("Only this workspace's admins")
    assert stored(bot) == []


async def test_a_click_whose_trigger_id_expired_opens_nothing_and_the_next_one_opens(
    bot: Bot, fake: FakeSlack
) -> None:
    await open_home(bot, ADMIN)
    fake.trigger_lifetime = 0.0  # the bot is late with views.open
    status, _ = await fake.click_home_button(bot.url, ADMIN, OPEN_ACTION, signing_secret=SECRET)
    assert status == 200
    await eventually(lambda: any(c.method == "views.open" for c in fake.calls))
    [late] = [c for c in fake.calls if c.method == "views.open"]
    assert late.error == "expired_trigger_id"
    assert ADMIN not in fake.open_views
    fake.trigger_lifetime = 3.0
    view = await open_settings(bot)
    assert "approvers" in inputs(view)


async def test_in_socket_mode_the_errors_come_back_in_the_envelopes_ack(
    fake: FakeSlack, tmp_path: Path
) -> None:
    settings = slack_settings(tmp_path, fake, socket=True, SLACK_SIGNING_SECRET=None)
    async with running_bot(fake, settings) as bot:
        await fake.push_envelope("events_api", fake.app_home_opened(ADMIN))
        await eventually(lambda: "*Settings*" in fake.home_text(ADMIN))
        await fake.push_envelope("interactive", fake.home_block_action_payload(ADMIN, OPEN_ACTION))
        await eventually(lambda: ADMIN in fake.open_views)
        refused = {**GOOD, "approvals_required": "0"}
        payload = fake.view_submission_payload(ADMIN, fake.open_views[ADMIN], refused)
        ack = await fake.wait_ack(await fake.push_envelope("interactive", payload))
        assert ack.payload is not None and ack.payload["response_action"] == "errors"
        assert list(ack.payload["errors"]) == ["approvals_required"]
        payload = fake.view_submission_payload(ADMIN, fake.open_views[ADMIN], GOOD)
        ack = await fake.wait_ack(await fake.push_envelope("interactive", payload))
        assert not ack.payload
        assert [row[1] for row in stored(bot)] == [f"slack:{NEW_APPROVER}"]
