"""Promises that must hold with a whole team on Slack at once: aliases, early reactions, the
publish race, scope, permissions, replays, identities and reconciliation. Every test goes
through the bot in HTTP mode against the fake Slack."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from aiohttp import web

from storage import plans, posts, publications
from tests.fakes.slack import FakeSlack
from tests.slack_support import (
    APPROVER,
    CHANNEL,
    OUTSIDER,
    PROPOSER,
    SECRET,
    Bot,
    eventually,
    header,
    propose_and_run,
    running_bot,
    slack_settings,
)

SECOND = "USECOND"
OTHER_CHANNEL = "C2"


def react(fake: FakeSlack, ts: str, user: str, name: str, *, added: bool = True) -> dict[str, Any]:
    kind = "reaction_added" if added else "reaction_removed"
    return fake.reaction_event(kind, user=user, reaction=name, channel=CHANNEL, ts=ts)


async def status_of(bot: Bot, post_id: int = 1) -> str:
    post = await posts.get_post(bot.app.room.deps.db.reader, post_id)
    assert post is not None
    return post.status


def published_replies(bot: Bot, draft_ts: str) -> list[str]:
    return [header(m) for m in bot.thread(draft_ts) if "is published" in header(m)]


async def test_one_approval_per_person_whatever_alias(fake: FakeSlack, tmp_path: Path) -> None:
    settings = slack_settings(
        tmp_path, fake, APPROVERS=f"{APPROVER},{SECOND}", APPROVALS_REQUIRED="2"
    )
    async with running_bot(fake, settings) as bot:
        [draft] = await propose_and_run(bot)
        for event in (
            react(fake, draft.ts, APPROVER, "white_check_mark"),
            react(fake, draft.ts, APPROVER, "heavy_check_mark"),  # the same person, an alias
        ):
            assert await bot.event(event) == 200
            await bot.settle()
        assert await status_of(bot) == "awaiting_approval"  # one person is one approval
        assert await bot.event(react(fake, draft.ts, APPROVER, "heavy_check_mark", added=False))
        await bot.settle()
        # A ✅ of theirs remains, so their approval stands: the second approver publishes.
        assert await bot.event(react(fake, draft.ts, SECOND, "white_check_mark")) == 200
        await bot.settle()
        assert await status_of(bot) == "published"


async def test_a_reaction_while_the_draft_is_still_being_posted_counts(
    fake: FakeSlack, tmp_path: Path
) -> None:
    async with running_bot(fake, slack_settings(tmp_path, fake)) as bot:
        assert await bot.command("/propose", "an idea") == 200
        await bot.settle()
        # The bot is slow to add its own ✅ ❌ 🔁: the approver is quicker.
        fake.delay_next("reactions.add", 1.0, times=3)
        assert await bot.command("/run", "1") == 200
        await eventually(lambda: len(bot.drafts()) == 1)
        [draft] = bot.drafts()
        assert await bot.event(react(fake, draft.ts, APPROVER, "white_check_mark")) == 200
        await bot.settle()
        assert await status_of(bot) == "published"
        assert len(published_replies(bot, draft.ts)) == 1


class GatedReceiver:
    """A webhook endpoint that holds each publish until the test opens the gate."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.arrived = asyncio.Event()
        self.bodies: list[dict[str, Any]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append(json.loads(await request.read()))
        self.arrived.set()
        await self.gate.wait()
        return web.json_response({"ok": True})

    async def __aenter__(self) -> GatedReceiver:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/hook"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.gate.set()
        assert self._runner is not None
        await self._runner.cleanup()


async def test_a_reply_while_publishing_cannot_change_what_is_published(
    fake: FakeSlack, tmp_path: Path
) -> None:
    async with GatedReceiver() as receiver:
        settings = slack_settings(
            tmp_path, fake, PUBLISH_WEBHOOK_URL=receiver.url, PUBLISH_WEBHOOK_SECRET="s3cret"
        )
        async with running_bot(fake, settings) as bot:
            [draft] = await propose_and_run(bot)
            body = (await posts.get_post(bot.app.room.deps.db.reader, 1)).body  # type: ignore[union-attr]
            assert await bot.event(react(fake, draft.ts, APPROVER, "white_check_mark")) == 200
            await asyncio.wait_for(receiver.arrived.wait(), 10)  # the publish is in flight
            note = fake.message_event(APPROVER, "make it shorter", CHANNEL, thread_ts=draft.ts)
            assert await bot.event(note) == 200
            await eventually(lambda: any("cannot revise" in e.text for e in fake.ephemerals))
            receiver.gate.set()
            await bot.settle()
            post = await posts.get_post(bot.app.room.deps.db.reader, 1)
            published = await publications.publication(bot.app.room.deps.db.reader, 1)
            assert post is not None and published is not None
            assert (post.status, post.rev, post.body, published.rev) == ("published", 1, body, 1)
            assert [b["body"] for b in receiver.bodies] == [body]
            [refusal] = [e for e in fake.ephemerals if "cannot revise" in e.text]
            assert "being published as approved (revision 1)" in refusal.text
            [announcement] = published_replies(bot, draft.ts)
            assert "revision 1" in announcement


async def test_plans_and_posts_stay_in_their_channel(fake: FakeSlack, tmp_path: Path) -> None:
    fake.create_channel(OTHER_CHANNEL)
    async with running_bot(fake, slack_settings(tmp_path, fake)) as bot:
        await propose_and_run(bot, "benchmarks as safety cases")
        reader = bot.app.room.deps.db.reader
        runs_before = await bot.app.room.deps.db.scalar("SELECT COUNT(*) FROM runs")
        for command, text in (("/post", "1"), ("/run", "1"), ("/refine", "1 sharper")):
            assert await bot.command(command, text, user=APPROVER, channel=OTHER_CHANNEL) == 200
        assert await bot.command("/ask", "benchmarks safety cases", channel=OTHER_CHANNEL) == 200
        await bot.settle()
        answers = [e.text for e in fake.ephemerals if e.channel == OTHER_CHANNEL]
        assert any("there is no post 1 here" in a for a in answers)
        assert sum("there is no plan 1 here" in a for a in answers) == 2
        assert await bot.app.room.deps.db.scalar("SELECT COUNT(*) FROM runs") == runs_before
        plan = await plans.get_plan(reader, 1)
        assert plan is not None and plan.current_rev == 1
        elsewhere = fake.messages(OTHER_CHANNEL, user=fake.bot_user_id)
        assert [m for m in elsewhere if "post 1" in m.text] == []  # /ask cited nothing from C1
        assert all("benchmarks as safety cases" not in m.text for m in elsewhere)


async def test_only_people_with_a_say_change_a_plan(fake: FakeSlack, tmp_path: Path) -> None:
    async with running_bot(fake, slack_settings(tmp_path, fake)) as bot:
        [draft] = await propose_and_run(bot)
        [plan_card] = bot.channel_cards("plan 1")
        reply = fake.message_event(OUTSIDER, "make it about cats", CHANNEL, thread_ts=plan_card.ts)
        assert await bot.event(reply) == 200
        for _ in range(2):  # an outsider's ✅, twice: one private explanation
            assert await bot.event(react(fake, draft.ts, OUTSIDER, "white_check_mark")) == 200
        await bot.settle()
        plan = await plans.get_plan(bot.app.room.deps.db.reader, 1)
        assert plan is not None and plan.current_rev == 1
        mine = [e for e in fake.ephemerals if e.ephemeral_user == OUTSIDER]
        assert sum("only plan 1's proposer, the approvers and the editors" in e.text for e in mine)
        assert sum("does not count: you are not an approver" in e.text for e in mine) == 1
        assert await status_of(bot) == "awaiting_approval"


async def test_a_replayed_command_does_nothing(fake: FakeSlack, tmp_path: Path) -> None:
    async with running_bot(fake, slack_settings(tmp_path, fake)) as bot:
        payload = fake.slash_command_payload("/propose", "an idea", user_id=PROPOSER)
        sent = [
            await fake.send_command(bot.url, payload=payload, signing_secret=SECRET, timestamp=t)
            for t in (None, None)
        ]
        assert [status for status, _ in sent] == [200, 200]
        await bot.settle()
        assert await plans.recent_plan_ids(bot.app.room.deps.db.reader, 5) == [1]
        assert len(bot.channel_cards("plan ")) == 1
        planner_steps = await bot.app.room.deps.db.scalar("SELECT COUNT(*) FROM steps")
        assert planner_steps == 1


async def test_one_person_on_two_ids_and_note_writers_are_authors(
    fake: FakeSlack, tmp_path: Path
) -> None:
    settings = slack_settings(
        tmp_path,
        fake,
        APPROVERS=f"pat,{APPROVER},{SECOND}",
        PEOPLE=f"pat=slack:{PROPOSER}+slack:UPAT2",
    )
    async with running_bot(fake, settings) as bot:
        [draft] = await propose_and_run(bot)  # proposed by pat as PROPOSER
        assert await bot.event(react(fake, draft.ts, "UPAT2", "white_check_mark")) == 200
        await bot.settle()
        assert await status_of(bot) == "awaiting_approval"  # pat's other id is still pat
        note = fake.message_event(APPROVER, "shorter, please", CHANNEL, thread_ts=draft.ts)
        assert await bot.event(note) == 200
        await bot.settle()
        [revised] = [d for d in bot.drafts() if d.ts != draft.ts]
        assert await bot.event(react(fake, revised.ts, APPROVER, "white_check_mark")) == 200
        await bot.settle()
        assert await status_of(bot) == "awaiting_approval"  # APPROVER wrote this revision's note
        own = [e.text for e in fake.ephemerals if e.ephemeral_user in ("UPAT2", APPROVER)]
        assert sum("it is your own draft" in t for t in own) == 2
        assert await bot.event(react(fake, revised.ts, SECOND, "white_check_mark")) == 200
        await bot.settle()
        assert await status_of(bot) == "published"


async def test_an_approval_withdrawn_while_down_is_withdrawn_at_start(
    fake: FakeSlack, tmp_path: Path
) -> None:
    settings = slack_settings(
        tmp_path, fake, APPROVERS=f"{APPROVER},{SECOND}", APPROVALS_REQUIRED="2"
    )
    async with running_bot(fake, settings) as bot:
        [draft] = await propose_and_run(bot)
        assert await bot.event(react(fake, draft.ts, APPROVER, "white_check_mark")) == 200
        await bot.settle()
    # While the bot is down: the first approver takes their ✅ back, the second gives one.
    react(fake, draft.ts, APPROVER, "white_check_mark", added=False)
    react(fake, draft.ts, SECOND, "white_check_mark")
    async with running_bot(fake, settings) as bot:
        await bot.settle()
        await eventually(lambda: any(c.method == "reactions.get" for c in fake.calls))
        await bot.adapter.wait_idle()
        assert await status_of(bot) == "awaiting_approval"
        assert not (tmp_path / "outbox").exists()
        assert await bot.event(react(fake, draft.ts, APPROVER, "white_check_mark")) == 200
        await bot.settle()
        assert await status_of(bot) == "published"
