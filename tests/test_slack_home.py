"""Slack's App Home tab: each viewer's queue, newest first, kept current as drafts change; the
bot in HTTP mode against the fake Slack, which lists channels per member and keeps views."""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import Settings
from bot.slack_blocks import escape
from bot.slack_home import TO_APPROVE, TO_APPROVE_EMPTY, YOURS, YOURS_EMPTY, home_view
from bot.slack_manifest import manifest
from bot.slack_settings import settings_blocks
from handlers.approver_queue import Queue, Waiting
from handlers.ports import Link
from handlers.workspace_settings import WorkspaceSettings
from storage import posts
from tests.fakes.slack import FakeSlack
from tests.slack_support import (
    APPROVER,
    CHANNEL,
    PROPOSER,
    SEED_PROPOSE,
    Bot,
    eventually,
    header,
    propose_and_run,
    running_bot,
    slack_settings,
)
from tests.test_slack_manifest import parse_yaml

EDITOR = "UEDITOR"  # a third approver, in the private channel too
PRIVATE = "G1"


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        for user in (APPROVER, PROPOSER, EDITOR):
            slack.add_member(CHANNEL, user)
        yield slack


@pytest_asyncio.fixture
async def bot(fake: FakeSlack, tmp_path: Path) -> AsyncIterator[Bot]:
    settings = slack_settings(tmp_path, fake, APPROVERS=f"{APPROVER},{PROPOSER},{EDITOR}")
    async with running_bot(fake, settings) as running:
        yield running


def listed(fake: FakeSlack, user: str, heading: str) -> list[str]:
    """The entries (section texts) under `heading` in the home view `user` sees."""
    blocks = fake.home_views[user]["blocks"]
    start = next(
        i
        for i, b in enumerate(blocks)
        if b.get("text", {}).get("text", "").startswith(f"*{heading}*")
    )
    found = []
    for block in blocks[start + 1 :]:
        if block["type"] != "section":
            break
        found.append(block["text"]["text"])
    return found


def post_ids(entries: list[str]) -> list[int]:
    """The post ids of the entries, in the order shown."""
    return [int(n) for entry in entries for n in re.findall(r"\npost (\d+) · ", entry)]


def draft_ts(bot: Bot) -> dict[int, str]:
    """Each draft message's ts, by its post id (its header starts "post N")."""
    return {int(header(m).split()[1]): m.ts for m in bot.drafts()}


def publishes(fake: FakeSlack, user: str) -> list[Any]:
    return [
        c for c in fake.calls if c.method == "views.publish" and c.params.get("user_id") == user
    ]


async def open_home(bot: Bot, user: str) -> None:
    before = len([c for c in publishes(bot.fake, user) if c.ok])
    assert await bot.event(bot.fake.app_home_opened(user)) == 200
    await eventually(lambda: len([c for c in publishes(bot.fake, user) if c.ok]) > before)


def approve(fake: FakeSlack, ts: str, user: str = APPROVER) -> dict[str, Any]:
    return fake.reaction_event(
        "reaction_added", user=user, reaction="white_check_mark", channel=CHANNEL, ts=ts
    )


async def test_an_approver_sees_the_seed_drafts_newest_first_with_their_links(
    bot: Bot, fake: FakeSlack
) -> None:
    await propose_and_run(bot, SEED_PROPOSE)
    drafts = draft_ts(bot)
    assert len(drafts) == 5
    await open_home(bot, APPROVER)
    entries = listed(fake, APPROVER, TO_APPROVE)
    assert post_ids(entries) == sorted(drafts, reverse=True)
    assert listed(fake, APPROVER, YOURS) == []
    assert YOURS_EMPTY in fake.home_text(APPROVER)
    async with aiohttp.ClientSession() as http:
        for post_id, entry in zip(post_ids(entries), entries, strict=True):
            # The draft message's permalink, and the post's page, which opens.
            ts = drafts[post_id].replace(".", "")
            assert f"<https://fake.slack.com/archives/{CHANNEL}/p{ts}|Draft message>" in entry
            page = re.search(r"<([^|>]+)\|Page>", entry)
            assert page is not None and "/p/" in page.group(1)
            async with http.get(page.group(1).replace("&amp;", "&")) as answer:
                assert answer.status == 200
                assert f"post {post_id}" in await answer.text()
            post = await posts.get_post(bot.app.room.deps.db.reader, post_id)
            assert post is not None and post.headline
            headline, details, _ = entry.split("\n")
            assert headline == f"*{escape(post.headline)}*"
            assert f" · @{post.persona} · {post.content_format} · " in details
            assert re.search(r" · \d+[smhd] old · \$\d+\.\d\d$", details), details


async def test_the_proposer_sees_their_drafts_as_theirs_not_to_approve(
    bot: Bot, fake: FakeSlack
) -> None:
    await propose_and_run(bot, SEED_PROPOSE)
    # The Messages tab has no view to publish.
    assert await bot.event(fake.app_home_opened(PROPOSER, tab="messages")) == 200
    await bot.settle()
    assert PROPOSER not in fake.home_views
    await open_home(bot, PROPOSER)
    assert post_ids(listed(fake, PROPOSER, YOURS)) == [5, 4, 3, 2, 1]
    assert listed(fake, PROPOSER, TO_APPROVE) == []  # no self-approval
    assert TO_APPROVE_EMPTY in fake.home_text(PROPOSER)


async def test_an_approval_refreshes_the_open_home_without_reopening(
    bot: Bot, fake: FakeSlack
) -> None:
    await propose_and_run(bot, SEED_PROPOSE)
    await open_home(bot, APPROVER)
    await open_home(bot, PROPOSER)
    assert len(listed(fake, APPROVER, TO_APPROVE)) == 5
    drafts = draft_ts(bot)
    opened = {user: len(publishes(fake, user)) for user in (APPROVER, PROPOSER)}
    assert await bot.event(approve(fake, drafts[3])) == 200
    await eventually(lambda: post_ids(listed(fake, APPROVER, TO_APPROVE)) == [5, 4, 2, 1])
    # The proposer's Home, open too, no longer lists it among theirs waiting.
    await eventually(lambda: post_ids(listed(fake, PROPOSER, YOURS)) == [5, 4, 2, 1])
    assert all(len(publishes(fake, user)) > opened[user] for user in opened)


async def test_refreshes_come_at_most_once_a_second_per_viewer(bot: Bot, fake: FakeSlack) -> None:
    await propose_and_run(bot, SEED_PROPOSE)
    await open_home(bot, APPROVER)
    drafts = draft_ts(bot)
    for post_id in (5, 4, 3):
        assert await bot.event(approve(fake, drafts[post_id])) == 200
    await eventually(lambda: post_ids(listed(fake, APPROVER, TO_APPROVE)) == [2, 1])
    await bot.settle()
    times = [c.time for c in publishes(fake, APPROVER)]
    assert len(times) >= 2
    assert all(later - earlier >= 0.99 for earlier, later in itertools.pairwise(times))


async def test_a_viewer_outside_a_private_channel_does_not_see_its_drafts(
    bot: Bot, fake: FakeSlack
) -> None:
    fake.create_channel(PRIVATE, "secret", is_private=True)
    for user in (PROPOSER, EDITOR):
        fake.add_member(PRIVATE, user)
    one = 'an idea special:"1 text"'
    for channel in (CHANNEL, PRIVATE):
        assert await bot.command("/propose", one, channel=channel) == 200
        await bot.settle()
    for plan in ("1", "2"):
        channel = CHANNEL if plan == "1" else PRIVATE
        assert await bot.command("/run", plan, channel=channel) == 200
        await bot.settle()
    await open_home(bot, EDITOR)
    await open_home(bot, APPROVER)
    assert post_ids(listed(fake, EDITOR, TO_APPROVE)) == [2, 1]
    assert post_ids(listed(fake, APPROVER, TO_APPROVE)) == [1]
    assert "secret" not in fake.home_text(APPROVER)


async def test_drafts_in_a_channel_the_bot_was_removed_from_are_not_listed(
    bot: Bot, fake: FakeSlack
) -> None:
    await propose_and_run(bot, 'an idea special:"1 text"')
    await open_home(bot, APPROVER)
    assert post_ids(listed(fake, APPROVER, TO_APPROVE)) == [1]
    fake.remove_member(CHANNEL, fake.bot_user_id)  # a ✅ there would no longer reach the bot
    await open_home(bot, APPROVER)
    assert listed(fake, APPROVER, TO_APPROVE) == []


async def test_a_viewer_in_hundreds_of_channels_sees_the_one_with_drafts(
    tmp_path: Path,
) -> None:
    async with FakeSlack() as fake:
        for n in range(450):  # before C1: its drafts come on the third page of 200
            fake.add_member(f"C{n + 100}", APPROVER)
        fake.add_member(CHANNEL, APPROVER)
        async with running_bot(fake, slack_settings(tmp_path, fake)) as bot:
            await propose_and_run(bot, 'an idea special:"1 text"')
            await open_home(bot, APPROVER)
            assert post_ids(listed(fake, APPROVER, TO_APPROVE)) == [1]
        cursors = [c.params.get("cursor") for c in fake.calls if c.method == "users.conversations"]
        assert (
            len(cursors) == 6 and len(set(cursors)) == 3
        )  # three pages, the viewer's and the bot's


async def test_the_fake_refuses_what_slack_refuses_in_a_home_view(fake: FakeSlack) -> None:
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x"}}
    long_header = {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}
    refused = [
        ("invalid_arguments", "", {"type": "home", "blocks": []}),
        ("invalid_arguments", APPROVER, {"type": "modal", "blocks": []}),
        ("invalid_arguments", APPROVER, {"type": "home", "blocks": [section] * 101}),
        ("invalid_blocks", APPROVER, {"type": "home", "blocks": [{"type": "section"}]}),
        ("invalid_blocks", APPROVER, {"type": "home", "blocks": [long_header]}),
    ]
    for error, user, view in refused:
        with pytest.raises(SlackApiError) as caught:
            await client.views_publish(user_id=user, view=view)
        assert caught.value.response["error"] == error, view
    assert fake.home_views == {}
    await client.views_publish(user_id=APPROVER, view={"type": "home", "blocks": [section] * 100})
    assert len(fake.home_views[APPROVER]["blocks"]) == 100
    fake.scopes = frozenset({"channels:read"})
    with pytest.raises(SlackApiError) as caught:
        await client.users_conversations(types="public_channel,private_channel")
    assert caught.value.response["error"] == "missing_scope"


async def test_a_failed_refresh_is_logged_and_the_next_change_publishes_again(
    bot: Bot, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.slack_home")
    await propose_and_run(bot, SEED_PROPOSE)
    await open_home(bot, APPROVER)
    drafts = draft_ts(bot)
    failed = f"refreshing the Home tab of {APPROVER} failed"
    fake.fail_next("views.publish", status=200, error="internal_error")
    assert await bot.event(approve(fake, drafts[5])) == 200
    await bot.settle()
    assert caplog.text.count(failed) == 1
    # Slack keeps showing the view published before.
    assert post_ids(listed(fake, APPROVER, TO_APPROVE)) == [5, 4, 3, 2, 1]
    # Opening the tab reads the channels afresh: that read fails too, and is logged.
    fake.fail_next("users.conversations", status=200, error="internal_error")
    assert await bot.event(fake.app_home_opened(APPROVER)) == 200
    await bot.settle()
    assert caplog.text.count(failed) == 2
    assert post_ids(listed(fake, APPROVER, TO_APPROVE)) == [5, 4, 3, 2, 1]
    assert await bot.event(approve(fake, drafts[4])) == 200
    assert await bot.event(approve(fake, drafts[3])) == 200
    await eventually(lambda: post_ids(listed(fake, APPROVER, TO_APPROVE)) == [2, 1])
    assert "Traceback" not in caplog.text


async def test_a_full_queue_of_long_headlines_fits_a_home_view(fake: FakeSlack) -> None:
    long = "R&D <b> " + "word " * 400

    def waiting(post_id: int) -> Waiting:
        page = Link("page", f"http://127.0.0.1:1/p/{post_id}?t=a&b")
        url = f"https://fake.slack.com/archives/C1/p{post_id}"
        return Waiting(post_id, post_id, long, "ana", "hero_text", "3m", "$0.06", url, page)

    queue = Queue(tuple(map(waiting, range(80, 20, -1))), tuple(map(waiting, range(20, 0, -1))))
    view = home_view(queue)
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    answer = await client.views_publish(user_id=APPROVER, view=view)
    assert answer["ok"] and len(view["blocks"]) <= 100
    text = fake.home_text(APPROVER)
    assert "R&amp;D &lt;b&gt;" in text and "<b>" not in text
    assert post_ids(listed(fake, APPROVER, TO_APPROVE))[0] == 80
    assert post_ids(listed(fake, APPROVER, YOURS)) == list(range(20, 0, -1))
    assert "older, not shown here" in text
    # An admin's tab has the Settings section too, and still fits.
    settings = WorkspaceSettings(
        tuple(f"slack:U{n:08d}" for n in range(50)), (), 10, False, 9999.0, True
    )
    view = home_view(queue, settings_blocks(settings))
    assert len(view["blocks"]) <= 100
    assert (await client.views_publish(user_id=APPROVER, view=view))["ok"]
    assert "*Settings*" in fake.home_text(APPROVER) and "older, not shown here" in text


def test_the_manifest_enables_the_home_tab_and_what_it_needs() -> None:
    parsed = parse_yaml(manifest(Settings(_env_file=None, SLACK_BOT_TOKEN="xoxb-1")))  # type: ignore[call-arg]
    assert parsed["features"]["app_home"]["home_tab_enabled"] is True
    assert "app_home_opened" in parsed["settings"]["event_subscriptions"]["bot_events"]
    assert {"channels:read", "groups:read", "users:read"} <= set(
        parsed["oauth_config"]["scopes"]["bot"]
    )


async def test_a_change_in_the_queue_reuses_the_channel_lists_read_when_the_tab_opened(
    bot: Bot, fake: FakeSlack
) -> None:
    """users.conversations is rate-limited (Tier 3): a refresh after a change reads the lists
    the tab's opening read, for a minute; opening the tab again reads them anew."""
    await propose_and_run(bot, SEED_PROPOSE)
    drafts = draft_ts(bot)

    def listings() -> int:
        return len([c for c in fake.calls if c.method == "users.conversations"])

    await open_home(bot, APPROVER)
    read = listings()
    assert read == 2  # the viewer's channels and the bot's
    assert await bot.event(approve(fake, drafts[5])) == 200
    await eventually(lambda: post_ids(listed(fake, APPROVER, TO_APPROVE)) == [4, 3, 2, 1])
    assert listings() == read
    await open_home(bot, APPROVER)
    assert listings() == read + 2
