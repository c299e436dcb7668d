"""The pages from Slack: served on the HTTP-mode server Slack's events arrive at, linked from the
draft in its context block, with chat references that link back to their messages, and the
changes between a post's revisions."""

from __future__ import annotations

import re
from collections.abc import Awaitable

import httpx

from tests.fakes.slack_recording import FakeMessage
from tests.slack_support import (
    APPROVER,
    CHANNEL,
    SEED_PROPOSE,
    Bot,
    header,
    propose_and_run,
)
from tests.support import wait_until


def page_link(
    bot: Bot,
    ts: str,
    path: str,
    *,
    channel: str = CHANNEL,
    messages: list[FakeMessage] | None = None,
) -> str:
    """The link to `path` in the context block of the message `ts`, as Slack shows it."""
    found = bot.fake.messages(channel) if messages is None else messages
    (message,) = [m for m in found if m.ts == ts]
    contexts = [
        element["text"]
        for block in message.blocks or []
        if block["type"] == "context"
        for element in block["elements"]
    ]
    for text in contexts:
        found = re.search(r"<(http://127\.0\.0\.1:(\d+)" + re.escape(path) + r"\?t=[^|>]+)\|", text)
        if found:
            assert int(found.group(2)) == bot.adapter.port  # the pages share Slack's server
            return found.group(1).replace("&amp;", "&")
    raise AssertionError(f"no link to {path} in {contexts}")


async def _has(text: Awaitable[str], part: str) -> bool:
    return part in await text


async def test_a_draft_links_to_its_page_and_the_page_links_back_to_slack(bot: Bot) -> None:
    drafts = await propose_and_run(bot, SEED_PROPOSE)
    draft = next(d for d in drafts if "hero_text" in header(d))
    post_id = int(header(draft).split()[1])
    link = page_link(bot, draft.ts, f"/p/{post_id}")
    await bot.event(
        bot.fake.reaction_event(
            "reaction_added",
            user=APPROVER,
            reaction="white_check_mark",
            channel=CHANNEL,
            ts=draft.ts,
        )
    )
    await wait_until(
        lambda: any("is published" in header(m) for m in bot.thread(draft.ts)), timeout=20
    )
    (notice,) = [m for m in bot.thread(draft.ts) if "is published" in header(m)]
    permalink = (
        f"https://fake.slack.com/archives/{CHANNEL}/p{notice.ts.replace('.', '')}"
        f"?thread_ts={draft.ts}&amp;cid={CHANNEL}"
    )

    async def page_text() -> str:
        async with httpx.AsyncClient() as http:
            page = await http.get(link)
        assert page.status_code == 200
        return page.text

    # The turn is logged once Slack has answered chat.postMessage, a moment after the fake
    # holds the message: wait for the page to show it rather than racing the bot.
    await wait_until(lambda: _has(page_text(), permalink), timeout=10)
    page = await page_text()
    assert "published · " in page and "open in slack" in page
    assert f"slack · {CHANNEL}" in page


async def test_the_page_shows_what_changed_between_revisions(bot: Bot) -> None:
    drafts = await propose_and_run(bot, SEED_PROPOSE)
    draft = next(d for d in drafts if "hero_text" in header(d))
    post_id = int(header(draft).split()[1])
    link = page_link(bot, draft.ts, f"/p/{post_id}")
    async with httpx.AsyncClient() as http:
        before = await http.get(link)
    assert 'data-testid="revision"' not in before.text
    await bot.event(
        bot.fake.message_event(
            text="make it about audits instead",
            user=APPROVER,
            channel=CHANNEL,
            thread_ts=draft.ts,
        )
    )
    await bot.settle()
    await wait_until(lambda: len(bot.drafts()) > len(drafts), timeout=20)
    async with httpx.AsyncClient() as http:
        after = await http.get(link)
    assert after.text.count('data-testid="revision"') == 2
    assert "<b>draft 2</b>" in after.text and "<ins>" in after.text


async def test_a_channel_s_library_shows_its_own_posts_only(bot: Bot) -> None:
    """Posts of a private channel stay out of another channel's library and its links."""
    bot.fake.create_channel("CPRIV", member=True, is_private=True)
    await propose_and_run(bot, SEED_PROPOSE)
    assert await bot.command("/propose", SEED_PROPOSE, channel="CPRIV") == 200
    await bot.settle()
    assert await bot.command("/run", "2", channel="CPRIV") == 200
    await bot.settle()
    assert await bot.command("/posts", "") == 200
    await bot.settle()
    (answer,) = [m for m in bot.fake.ephemerals if m.channel == CHANNEL]
    library = page_link(bot, answer.ts, "/posts", messages=bot.fake.ephemerals)
    private_draft = next(
        m for m in bot.fake.messages("CPRIV", user=bot.fake.bot_user_id) if " · draft " in header(m)
    )
    private_post = int(header(private_draft).split()[1])
    token = library.split("?t=", 1)[1]
    async with httpx.AsyncClient() as http:
        listed = await http.get(library + "&status=awaiting_approval")
        other = await http.get(f"{library.split('/posts', 1)[0]}/p/{private_post}?t={token}")
        private_link = page_link(bot, private_draft.ts, f"/p/{private_post}", channel="CPRIV")
        private = await http.get(private_link)
    assert listed.text.count('data-testid="post-row"') == 5
    assert f"/p/{private_post}?" not in listed.text
    assert other.status_code == 404 and "There is no such post here." in other.text
    assert private.status_code == 200  # its own channel's link opens it
    assert token not in private_link
