"""A Slack workspace's approval channel, chosen on the App Home: once an admin picks one, the
drafts of a plan proposed elsewhere are posted there (and nowhere else), an approver's ✅ there
publishes, and an approver who is only in that channel finds them on their Home tab; cleared,
drafts go beside their plan again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from bot.slack_home import TO_APPROVE
from bot.slack_settings import OPEN_APPROVALS_ACTION
from tests.db_rows import rows
from tests.fakes.slack import FakeMessage, FakeSlack
from tests.slack_support import (
    APPROVER,
    CHANNEL,
    PROPOSER,
    SECRET,
    Bot,
    eventually,
    header,
    propose_and_run,
    running_bot,
    slack_settings,
)
from tests.test_slack_home import listed, post_ids
from tests.test_slack_settings import ADMIN, WORKSPACE, inputs, open_home, status_of, submit

APPROVALS = "C0APPROVALS"
CHOSEN = "SELECT workspace, approval_channel FROM workspace_publishing"


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        for user in (APPROVER, PROPOSER, ADMIN):
            slack.add_member(CHANNEL, user)
        slack.create_channel(APPROVALS, "approvals")
        slack.add_member(APPROVALS, APPROVER)
        slack.add_user(ADMIN, is_admin=True)
        yield slack


@pytest_asyncio.fixture
async def bot(fake: FakeSlack, tmp_path: Path) -> AsyncIterator[Bot]:
    async with running_bot(fake, slack_settings(tmp_path, fake)) as running:
        yield running


def drafts_in(fake: FakeSlack, channel: str) -> list[FakeMessage]:
    held = fake.messages(channel, user=fake.bot_user_id)
    return [m for m in held if not m.is_reply and " · draft " in header(m)]


async def choose(bot: Bot, channel: str | None) -> None:
    status, _ = await bot.fake.click_home_button(
        bot.url, ADMIN, OPEN_APPROVALS_ACTION, signing_secret=SECRET
    )
    assert status == 200
    await eventually(lambda: ADMIN in bot.fake.open_views)
    view = bot.fake.open_views[ADMIN]
    assert view["callback_id"] == "draftroom_approvals"
    assert inputs(view)["approval_channel"]["type"] == "conversations_select"
    assert await submit(bot, {"approval_channel": channel}) == {}


async def test_drafts_go_to_the_approval_channel_and_are_approved_there(
    bot: Bot, fake: FakeSlack
) -> None:
    await open_home(bot, ADMIN)
    assert "Approval channel: where each plan was proposed" in fake.home_text(ADMIN)
    await choose(bot, APPROVALS)
    assert rows(bot.app.settings.db_path, CHOSEN) == [(WORKSPACE, APPROVALS)]
    await eventually(lambda: f"Approval channel: <#{APPROVALS}>" in fake.home_text(ADMIN))

    # No restart: the run's draft is posted in the approval channel, not beside its plan.
    await propose_and_run(bot)
    assert drafts_in(fake, CHANNEL) == []
    [draft] = drafts_in(fake, APPROVALS)
    assert header(draft).startswith("post 1 · ")

    # An approver who is only in the approval channel finds it on their Home tab.
    fake.remove_member(CHANNEL, APPROVER)
    await open_home(bot, APPROVER)
    [entry] = listed(fake, APPROVER, TO_APPROVE)
    assert post_ids([entry]) == [1]
    assert f"/archives/{APPROVALS}/p{draft.ts.replace('.', '')}|Draft message>" in entry

    event = fake.reaction_event(
        "reaction_added", user=APPROVER, reaction="white_check_mark", channel=APPROVALS, ts=draft.ts
    )
    assert await bot.event(event) == 200
    await bot.settle()
    assert await status_of(bot, 1) == "published"

    # Cleared, the next run's drafts go beside their plan again.
    await choose(bot, None)
    assert rows(bot.app.settings.db_path, CHOSEN) == [(WORKSPACE, None)]
    assert await bot.command("/run", "1") == 200
    await bot.settle()
    assert len(drafts_in(fake, CHANNEL)) == 1
    assert len(drafts_in(fake, APPROVALS)) == 1
