"""The bot in HTTP mode against the fake Slack: signed requests to its real port, real Web API
calls back. The console's whole session, approvals, redeliveries, signatures, errors."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from handlers.ports import SOMETHING_WENT_WRONG, WARNING
from storage import plans, posts
from tests.fakes.slack import FakeSlack
from tests.slack_support import (
    APPROVER,
    CHANNEL,
    OUTSIDER,
    PROPOSER,
    SECRET,
    SEED_PROPOSE,
    Bot,
    block_text,
    eventually,
    header,
    propose_and_run,
    running_bot,
    slack_settings,
)
from tests.support import wait_until


def approve(fake: FakeSlack, ts: str, user: str = APPROVER) -> dict[str, Any]:
    """A ✅ on message `ts`, as Slack's reaction_added event envelope."""
    return fake.reaction_event(
        "reaction_added", user=user, reaction="white_check_mark", channel=CHANNEL, ts=ts
    )


def published_replies(bot: Bot, draft_ts: str) -> list[str]:
    """The thread replies under a draft that say it is published, up to the parenthesis."""
    return [header(m).split(" (")[0] for m in bot.thread(draft_ts) if "is published" in header(m)]


async def test_the_whole_session(bot: Bot, fake: FakeSlack, tmp_path: Path) -> None:
    assert await bot.command("/propose", SEED_PROPOSE, user="U1") == 200
    await bot.settle()
    [plan_card] = bot.channel_cards("plan 1 ·")
    assert "5 items: 1 video, 4 hero_text" in block_text(plan_card)
    assert plan_card.text and not plan_card.missing_fallback

    reply = fake.message_event("U1", "make it sharper", CHANNEL, thread_ts=plan_card.ts)
    assert await bot.event(reply) == 200
    await eventually(lambda: any("revision 2" in header(m) for m in bot.thread(plan_card.ts)))
    await eventually(lambda: "(revision 2)" in header(plan_card))  # the card is edited in place

    assert await bot.command("/run", "1", user="U1") == 200
    await bot.settle()
    [progress] = bot.channel_cards("run 1")
    assert "done · 5/5 items finished" in header(progress)
    assert progress.edits >= 1
    assert {c.params["ts"] for c in fake.calls_of("chat.update")} >= {progress.ts}

    drafts = bot.drafts()
    formats = sorted(header(d).split(" · ")[2] for d in drafts)
    assert formats == ["hero_text"] * 4 + ["video"]
    for draft in drafts:
        assert fake.reactions_on(CHANNEL, draft.ts) == {
            "white_check_mark": [fake.bot_user_id],
            "x": [fake.bot_user_id],
            "repeat": [fake.bot_user_id],
        }
        [image] = [b for b in draft.blocks or [] if b["type"] == "image"]  # in the message
        [upload] = [f for f in fake.uploaded_files if f.id == image["slack_file"]["id"]]
        assert upload.completed and upload.data and upload.data.startswith(b"\x89PNG")
    # One picture per draft, and the video draft's clip in its thread.
    assert len(fake.calls_of("files.getUploadURLExternal")) == 6
    assert len(fake.calls_of("files.completeUploadExternal")) == 6

    video = next(d for d in drafts if " · video · " in header(d))
    post_id = int(header(video).split(" · ")[0].removeprefix("post "))
    assert await bot.event(approve(fake, video.ts)) == 200
    await bot.settle()
    bundle = tmp_path / "outbox" / f"post-{post_id}" / "post.json"
    assert json.loads(bundle.read_text())["content_format"] == "video"
    assert published_replies(bot, video.ts) == [f"post {post_id} is published"]

    late_note = fake.message_event("U1", "one more change", CHANNEL, thread_ts=video.ts)
    assert await bot.event(late_note) == 200
    await bot.settle()
    [refusal] = fake.ephemerals
    assert refusal.thread_ts == video.ts and "already published" in refusal.text

    assert await bot.command("/post", str(post_id), user="U1") == 200
    await bot.settle()
    [card] = [e for e in fake.ephemerals if f"post {post_id}" in header(e)]
    assert card.ephemeral_user == "U1"
    text = block_text(card)
    assert text.splitlines()[1].startswith("published · ")  # the status line
    for heading in ("Plan (drafter input)", "Body", "Caption", "Pipeline", "Chat References"):
        assert f"*{heading}*" in text
    assert not [c for c in fake.calls if c.error in ("invalid_blocks", "msg_blocks_too_long")]


async def test_only_other_approvers_publish(bot: Bot, fake: FakeSlack, tmp_path: Path) -> None:
    [draft] = await propose_and_run(bot)
    for user in (OUTSIDER, PROPOSER):  # not an approver; the proposer approving their own
        event = approve(fake, draft.ts, user=user)
        assert await bot.event(event) == 200
        await bot.settle()
        assert await bot.seen(event)
    post = await posts.get_post(bot.app.room.deps.db.reader, 1)
    assert post is not None and post.status == "awaiting_approval"
    assert not (tmp_path / "outbox").exists()
    assert published_replies(bot, draft.ts) == []

    assert await bot.event(approve(fake, draft.ts)) == 200
    await bot.settle()
    assert published_replies(bot, draft.ts) == ["post 1 is published"]


async def test_a_redelivered_event_has_one_effect(
    bot: Bot, fake: FakeSlack, tmp_path: Path
) -> None:
    [draft] = await propose_and_run(bot)
    event = approve(fake, draft.ts)
    statuses = list(await asyncio.gather(bot.event(event), bot.event(event, retry_num=1)))
    await wait_until(lambda: bot.seen(event))  # the later copies come after it was handled
    for retry in (2, 3):
        statuses.append(await bot.event(event, retry_num=retry, retry_reason="http_error"))
    assert statuses == [200] * 4
    await bot.settle()
    assert published_replies(bot, draft.ts) == ["post 1 is published"]
    assert [p.name for p in (tmp_path / "outbox").iterdir()] == ["post-1"]
    rows = await bot.app.room.deps.db.fetchall("SELECT * FROM publications")
    assert len(rows) == 1


async def test_a_redelivery_after_a_restart_is_recognised(fake: FakeSlack, tmp_path: Path) -> None:
    settings = slack_settings(tmp_path, fake)
    async with running_bot(fake, settings) as bot:
        [draft] = await propose_and_run(bot)
        note = fake.message_event(APPROVER, "shorter, please", CHANNEL, thread_ts=draft.ts)
        assert await bot.event(note) == 200
        await bot.settle()
    revising = [header(m) for m in bot.thread(draft.ts) if header(m).startswith("Revising")]
    assert revising == ["Revising post 1 (draft 2) with your note."]

    async with running_bot(fake, settings) as bot:
        assert await bot.event(note, retry_num=3, retry_reason="http_timeout") == 200
        await bot.settle()
        post = await posts.get_post(bot.app.room.deps.db.reader, 1)
    assert post is not None and post.rev == 2
    assert [header(m) for m in bot.thread(draft.ts) if header(m).startswith("Revising")] == revising


async def test_other_messages_and_reactions_are_ignored(bot: Bot, fake: FakeSlack) -> None:
    [draft] = await propose_and_run(bot)
    [plan_card] = bot.channel_cards("plan 1")
    other_bot = fake.message_event("U2", "bot says", CHANNEL, thread_ts=plan_card.ts)
    other_bot["event"].update(bot_id="B0OTHER", subtype="bot_message")
    ignored = [
        fake.message_event("U2", "top level chatter", CHANNEL),
        other_bot,
        fake.message_event(fake.bot_user_id, "my own", CHANNEL, thread_ts=plan_card.ts),
        fake.reaction_event(
            "reaction_added", user=APPROVER, reaction="tada", channel=CHANNEL, ts=draft.ts
        ),
        fake.reaction_event(
            "reaction_added",
            user=APPROVER,
            reaction="+1::skin-tone-2",
            channel=CHANNEL,
            ts=draft.ts,
        ),
    ]
    calls_before = len(fake.calls)
    for event in ignored:
        assert await bot.event(event) == 200
    await bot.settle()
    assert len(fake.calls) == calls_before and fake.ephemerals == []
    plan = await plans.get_plan(bot.app.room.deps.db.reader, 1)
    assert plan is not None and plan.current_rev == 1
    for event in ignored:
        assert not await bot.seen(event)  # never handed to the room


async def test_forged_and_stale_requests_get_401(bot: Bot, fake: FakeSlack) -> None:
    forged, _ = await fake.send_command(
        bot.url, "/propose", "an idea", signing_secret=SECRET, bad_signature=True
    )
    stale, _ = await fake.send_command(
        bot.url, "/propose", "an idea", signing_secret=SECRET, timestamp=int(time.time()) - 400
    )
    event = fake.message_event("U1", "note", CHANNEL, thread_ts="1700000000.000100")
    wrong_secret, _ = await fake.send_event(bot.url, event, signing_secret="not-the-secret")
    async with (
        aiohttp.ClientSession() as session,
        session.post(bot.url, data=b"command=%2Fpropose&text=x") as unsigned,
    ):
        assert (forged, stale, wrong_secret, unsigned.status) == (401, 401, 401, 401)
    await bot.settle()
    api_calls = {c.method for c in fake.calls} - {"auth.test"}
    assert api_calls == set()
    assert await plans.recent_plan_ids(bot.app.room.deps.db.reader, 5) == []
    assert not await bot.seen(event)


async def test_commands_are_acknowledged_before_the_work(bot: Bot, fake: FakeSlack) -> None:
    fake.delay_next("chat.postMessage", 1.0)
    started = time.monotonic()
    assert await bot.command("/propose", "an idea") == 200
    assert time.monotonic() - started < 0.5
    assert not bot.channel_cards("plan 1")
    await bot.settle()
    assert bot.channel_cards("plan 1")


async def test_refusals_and_failures_are_ephemeral(
    bot: Bot, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    assert await bot.command("/run", "99", user="U7") == 200
    assert await bot.command("/frobnicate", "x") == 404  # not a command the app registered
    fake.fail_next("chat.postMessage", status=200, error="fatal_error")
    with caplog.at_level(logging.ERROR):
        assert await bot.command("/propose", "an idea", user="U8") == 200
        await bot.settle()
    refusal, apology = fake.ephemerals
    assert refusal.ephemeral_user == "U7" and "there is no plan 99" in block_text(refusal)
    assert apology.ephemeral_user == "U8"
    assert apology.text == SOMETHING_WENT_WRONG and "Traceback" not in block_text(apology)
    assert refusal.text.startswith(f"{WARNING} there is no plan 99")
    assert any(r.exc_info for r in caplog.records if r.name == "bot.slack_listeners")


async def test_help_and_healthz(bot: Bot, fake: FakeSlack) -> None:
    assert await bot.command("/help") == 200
    assert await bot.command("/posts", "help") == 200
    await bot.settle()
    general, posts_help = fake.ephemerals
    assert "/propose" in block_text(general) and "/costs" in block_text(general)
    assert "/posts [status] [persona]" in block_text(posts_help)
    health_url = bot.url.replace("/slack/events", "/healthz")
    async with aiohttp.ClientSession() as session, session.get(health_url) as resp:
        assert resp.status == 200 and (await resp.json())["ok"] is True
