"""Hostile payloads from Slack: missing fields, wrong types, oversize text, invisible
characters, unknown ids and mentions. Each is answered with a short ephemeral line where there is
someone to answer, else ignored; the adapter keeps serving; no traceback reaches chat or the log;
nothing refused is written; and no text the bot posts can ping anyone."""

from __future__ import annotations

import json
import time
from typing import Any

import aiohttp
import pytest
from slack_sdk.signature import SignatureVerifier

from handlers.ports import SOMETHING_WENT_WRONG
from tests.fakes.slack import FakeMessage, FakeSlack
from tests.hostile_support import (
    GONE,
    HUGE,
    INVISIBLE,
    TRACEBACK,
    counts,
    errors_logged,
)
from tests.slack_support import (
    APPROVER,
    CHANNEL,
    PROPOSER,
    SECRET,
    Bot,
    header,
    propose_and_run,
)

# -- Slack --------------------------------------------------------------------------------------


def slack_said(fake: FakeSlack) -> str:
    """Everything the bot sent to Slack's Web API, as one JSON text."""
    return json.dumps([c.params for c in fake.calls], ensure_ascii=False)


def assert_no_traceback_in_slack(fake: FakeSlack) -> None:
    said = slack_said(fake)
    assert not TRACEBACK.search(said), TRACEBACK.search(said)
    assert SOMETHING_WENT_WRONG not in said


async def post_signed(url: str, body: str) -> int:
    """POST any JSON body to the bot, signed as Slack signs: what the fake's senders cannot send
    (a list, an envelope without its event). Returns the status the bot answered."""
    ts = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body),
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as r,
    ):
        return r.status


async def refusal(bot: Bot, command: str, text: str) -> FakeMessage:
    """Run a command as PROPOSER; return the one ephemeral answer it got."""
    before = len(bot.fake.ephemerals)
    assert await bot.command(command, text) == 200
    await bot.settle()
    [answer] = bot.fake.ephemerals[before:]
    assert answer.ephemeral_user == PROPOSER and answer.channel == CHANNEL
    return answer


async def test_slack_refuses_bad_commands_briefly_and_writes_nothing(
    bot: Bot, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    db = bot.app.room.deps.db
    empty = await counts(db)
    expected = {
        ("/propose", HUGE): "that is 100000 characters; /propose takes at most 2000. Shorten it.",
        ("/propose", f"{INVISIBLE} \t {INVISIBLE}"): "the idea is empty.",
        ("/refine", f"1 {HUGE}"): "that is 100002 characters; /refine takes at most 2000.",
        ("/ask", INVISIBLE): "the question is empty.",
        ("/post", "999999"): "there is no post 999999 here. No posts here yet.",
        ("/post", "9" * 40): "is not a post id; give its number, like `12` or `#12`.",
        ("/run", "999999"): "there is no plan 999999 here. Start one with /propose.",
        ("/run", "-1"): "`-1` is not a plan id",
        ("/refine", "999999 sharper"): "there is no plan 999999 here.",
        ("/costs", "100000000000"): "days must be a whole number from 1 to 366",
        ("/posts", "status:nonsense"): "unknown status `nonsense`",
        ("/propose", 'idea special:"999 text"'): "999 items is more than the limit of 10 per run.",
    }
    for (command, text), says in expected.items():
        answer = await refusal(bot, command, text)
        assert answer.text.startswith("⚠ ") and says in answer.text, (command, answer.text)
        assert len(answer.text) < 400

    assert await counts(db) == empty
    assert not fake.calls_of("chat.postMessage")
    assert_no_traceback_in_slack(fake)
    assert not errors_logged(caplog)

    # Still serving: a normal command works.
    assert await bot.command("/propose", "benchmarks as safety cases") == 200
    await bot.settle()
    assert len(bot.channel_cards("plan 1 ·")) == 1


async def test_slack_malformed_events_are_ignored_and_the_adapter_keeps_serving(
    bot: Bot, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    [draft] = await propose_and_run(bot)
    [plan_card] = bot.channel_cards("plan 1 ·")
    db = bot.app.room.deps.db
    before = await counts(db)
    posted = len(fake.calls_of("chat.postMessage"))
    user_message = fake.message_event(PROPOSER, "a person's own message", CHANNEL)
    person_ts = user_message["event"]["ts"]

    def event(**fields: Any) -> dict[str, Any]:
        """An envelope around an event of `fields`; a field given as GONE is left out."""
        return fake.event_callback({k: v for k, v in fields.items() if v is not GONE})

    def reaction(**changes: Any) -> dict[str, Any]:
        item = {"type": "message", "channel": CHANNEL, "ts": draft.ts}
        approve = {"type": "reaction_added", "user": APPROVER, "reaction": "white_check_mark"}
        return event(**{**approve, "item": item, **changes})

    def reply(**changes: Any) -> dict[str, Any]:
        fields = {"type": "message", "user": PROPOSER, "channel": CHANNEL, "text": "sharper"}
        return event(**{**fields, "ts": fake.next_ts(), "thread_ts": plan_card.ts, **changes})

    def item(**changes: Any) -> dict[str, Any]:
        found = {"type": "message", "channel": CHANNEL, "ts": draft.ts, **changes}
        return {k: v for k, v in found.items() if v is not GONE}

    envelopes: list[tuple[str, Any, int]] = [
        ("no event", {k: v for k, v in event(type="x").items() if k != "event"}, 400),
        ("event is null", {**event(type="x"), "event": None}, 400),
        ("event is a string", {**event(type="x"), "event": "reaction_added"}, 400),
        ("the body is a list", [reaction()], 400),
        ("an event without a type", event(user=PROPOSER), 404),
        ("item missing", reaction(item=GONE), 200),
        ("item is a string", reaction(item=draft.ts), 200),
        ("item without channel", reaction(item=item(channel=GONE)), 200),
        ("item without ts", reaction(item=item(ts=GONE)), 200),
        ("item of a file", reaction(item=item(type="file")), 200),
        ("user is a number", reaction(user=12345), 400),
        ("user missing", reaction(user=GONE), 200),
        ("reaction is a number", reaction(reaction=5), 200),
        ("on a message the bot never posted", reaction(item=item(ts=person_ts)), 200),
        ("on a message that does not exist", reaction(item=item(ts="1.000001")), 200),
        ("a reply under an unknown ts", reply(thread_ts="1.000002"), 200),
        ("a reply under a person's message", reply(thread_ts=person_ts), 200),
        ("a reply without channel", reply(channel=GONE), 200),
        ("a reply whose text is an object", reply(text={"a": 1}), 200),
        (
            "a reply whose ts are numbers",
            reply(ts=1800000000.5, thread_ts=float(plan_card.ts)),
            200,
        ),
        ("a reply whose user is a number", reply(user=7), 400),
    ]
    for what, envelope, status in envelopes:
        assert await post_signed(bot.url, json.dumps(envelope)) == status, what
    for drop in ("user_id", "channel_id"):
        payload = fake.slash_command_payload("/propose", "an idea", user_id=PROPOSER)
        del payload[drop]
        status, _ = await fake.send_command(bot.url, signing_secret=SECRET, payload=payload)
        assert status == 200, drop
    await bot.settle()

    assert await counts(db) == before
    assert len(fake.calls_of("chat.postMessage")) == posted
    assert not fake.ephemerals
    assert_no_traceback_in_slack(fake)
    assert not errors_logged(caplog)
    post = await db.fetchone("SELECT status, rev FROM posts WHERE id = 1")
    assert post is not None and tuple(post) == ("awaiting_approval", 1)

    # Still serving: a real reaction publishes.
    ok = fake.reaction_event(
        "reaction_added", user=APPROVER, reaction="white_check_mark", channel=CHANNEL, ts=draft.ts
    )
    assert await bot.event(ok) == 200
    await bot.settle()
    assert [h for h in map(header, bot.thread(draft.ts)) if "is published" in h]


async def test_slack_oversize_and_invisible_text_in_threads_and_ideas(
    bot: Bot, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    assert await bot.command("/propose", "benchmarks as safety cases") == 200
    await bot.settle()
    [plan_card] = bot.channel_cards("plan 1 ·")
    db = bot.app.room.deps.db
    before = await counts(db)

    huge = fake.message_event(PROPOSER, HUGE, CHANNEL, thread_ts=plan_card.ts)
    assert await bot.event(huge) == 200
    await bot.settle()
    [answer] = fake.ephemerals
    assert answer.thread_ts == plan_card.ts and answer.ephemeral_user == PROPOSER
    assert answer.text == (
        "⚠ that reply is 100000 characters; a note takes at most 2000. Shorten it."
    )
    blank = fake.message_event(PROPOSER, INVISIBLE * 3, CHANNEL, thread_ts=plan_card.ts)
    assert await bot.event(blank) == 200
    await bot.settle()
    assert len(fake.ephemerals) == 1
    assert not fake.messages(CHANNEL, plan_card.ts, user=fake.bot_user_id)
    assert await counts(db) == before

    # Invisible characters inside an idea are dropped before anything is stored or posted.
    disguised = "safe\u202eytefas\u200b idea\u2066 with\ufeff controls"
    assert await bot.command("/propose", disguised) == 200
    await bot.settle()
    assert await db.scalar("SELECT idea FROM plans WHERE id = 2") == "safeytefas idea with controls"
    for char in INVISIBLE:
        assert char not in slack_said(fake)
    assert_no_traceback_in_slack(fake)
    assert not errors_logged(caplog)


SLACK_MENTIONS = "@everyone @here <!channel> <!here> <!everyone> <@U123> <!subteam^S123> <@&123>"
RAW_SLACK_MENTIONS = ("<!channel>", "<!here>", "<!everyone>", "<@U123>", "<!subteam^S123>")


async def test_slack_mentions_in_ideas_and_replies_never_ping(bot: Bot, fake: FakeSlack) -> None:
    assert await bot.command("/propose", f"why {SLACK_MENTIONS} argue") == 200
    await bot.settle()
    [plan_card] = bot.channel_cards("plan 1 ·")
    note = fake.message_event(PROPOSER, f"say {SLACK_MENTIONS}", CHANNEL, thread_ts=plan_card.ts)
    assert await bot.event(note) == 200
    await bot.settle()
    assert await bot.command("/run", "1") == 200
    await bot.settle()
    [draft] = bot.drafts()
    revise = fake.message_event(PROPOSER, f"and {SLACK_MENTIONS}", CHANNEL, thread_ts=draft.ts)
    assert await bot.event(revise) == 200
    assert await bot.command("/post", "1") == 200
    await bot.settle()

    writes = [
        c
        for c in fake.calls
        if c.method in ("chat.postMessage", "chat.update", "chat.postEphemeral")
    ]
    assert {c.method for c in writes} == {"chat.postMessage", "chat.update", "chat.postEphemeral"}
    said = json.dumps([c.params for c in writes], ensure_ascii=False)
    for mention in RAW_SLACK_MENTIONS:
        assert mention not in said, mention
    # The text is there, escaped so that Slack shows it instead of acting on it.
    [edited] = bot.channel_cards("plan 1 ")
    assert edited.edits and "&lt;!channel&gt;" in block_texts(edited)
    assert "&lt;@U123&gt;" in said and "&lt;!here&gt;" in said


def block_texts(message: FakeMessage) -> str:
    return json.dumps([message.text, message.blocks], ensure_ascii=False)
