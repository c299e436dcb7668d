"""Delivery under pressure, end to end in HTTP mode: a 429 storm delays drafts but loses none,
and an over-long body still posts inside Slack's limits."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fakes.slack import MAX_BLOCKS_JSON, FakeSlack, block_errors
from tests.slack_support import (
    CHANNEL,
    SEED_PROPOSE,
    block_text,
    header,
    propose_and_run,
    running_bot,
    slack_settings,
)

LIMIT_ERRORS = ("invalid_blocks", "msg_blocks_too_long", "invalid_blocks_format", "no_text")


def limit_errors(fake: FakeSlack) -> list[str]:
    return [f"{c.method}: {c.error}" for c in fake.calls if c.error in LIMIT_ERRORS]


async def test_a_429_storm_delays_but_loses_nothing(fake: FakeSlack, tmp_path: Path) -> None:
    async with running_bot(fake, slack_settings(tmp_path, fake)) as bot:
        assert await bot.command("/propose", SEED_PROPOSE) == 200
        await bot.settle()
        fake.fail_next("chat.postMessage", 429, retry_after=1, times=3)
        assert await bot.command("/run", "1") == 200
        await bot.settle()
        drafts = bot.drafts()
    posts = fake.calls_of("chat.postMessage")
    assert [c.status for c in posts].count(429) == 3
    assert len(drafts) == 5 and len(bot.channel_cards("run 1")) == 1
    assert fake.early_retries() == []
    assert all(len(fake.reactions_on(CHANNEL, d.ts)) == 3 for d in drafts)


async def test_an_over_long_body_posts_inside_the_limits(fake: FakeSlack, tmp_path: Path) -> None:
    sentence = "Benchmarks are arguments about safety & they need <checking> by someone else"
    idea = " and ".join([sentence] * 40)  # one sentence of 3,200 characters; the body repeats it
    settings = slack_settings(tmp_path, fake, MAX_TEXT_CHARS=20_000)
    async with running_bot(fake, settings) as bot:
        [draft] = await propose_and_run(bot, idea)
        assert await bot.command("/post", "1") == 200
        await bot.settle()
    assert limit_errors(fake) == []
    [plan_card] = bot.channel_cards("plan 1")
    [post_card] = fake.ephemerals
    for message in (plan_card, draft, post_card):
        assert message.blocks and block_errors(message.blocks) == []
        assert len(json.dumps(message.blocks)) < MAX_BLOCKS_JSON - 1000
        assert len(message.text) <= 3000
    body = next(b["text"]["text"] for b in draft.blocks or [] if "*Body*" in str(b))
    assert body.endswith("… (the rest: /post 1)") and "&amp;" in body
    assert "… (the rest: /post 1)" in block_text(post_card)
    assert header(post_card).startswith("@aiaaron · post 1")
