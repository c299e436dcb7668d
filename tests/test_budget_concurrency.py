"""The daily budget holds when paid calls of every kind come at the same moment.

The bot runs in Slack HTTP mode against the fake Slack, with a priced OpenAI-compatible text
provider that holds every request at a gate: N commands are sent at once while it is closed, so
all of them are in flight together. Exactly the ones that fit reach the provider (counted at
the fake), the others are refused with what is left today, nothing is written for them, and the
recorded spend stays within DAILY_BUDGET_USD.

Input tokens are free and output costs $40 per million, so a call's estimate is its max_tokens
at that price: $0.08 for a plan, a refinement or an answer (2000), $0.048 for the draft of one
text item (1200). Every answer uses 50 output tokens: $0.002 spent per call.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from storage import plans, reservations, steps
from tests import support
from tests.fakes.providers import ChatCall, FakeOpenAI, Reply
from tests.fakes.slack import FakeMessage, FakeSlack
from tests.provider_support import TEXT_MODEL, ScriptedModel
from tests.slack_support import (
    APPROVER,
    CHANNEL,
    PROPOSER,
    Bot,
    eventually,
    header,
    running_bot,
    slack_settings,
)
from tests.support import database_for

KEY = "sk-test-budget"
REFUSED = "over the daily budget"


class GatedOpenAI(FakeOpenAI):
    """FakeOpenAI that holds every chat completion while `gate` is clear. Requests are recorded
    by the server as they arrive, before they wait."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gate = asyncio.Event()
        self.gate.set()

    async def _next_reply(self, call: ChatCall) -> Reply:
        await self.gate.wait()
        return await super()._next_reply(call)

    @property
    def arrived(self) -> int:
        return sum(1 for r in self.requests if r.path == "/v1/chat/completions")


@contextlib.asynccontextmanager
async def priced_bot(tmp_path: Path, budget: float) -> AsyncIterator[tuple[Bot, GatedOpenAI]]:
    model = ScriptedModel(prompt_tokens=100, completion_tokens=50)
    async with FakeSlack() as fake, GatedOpenAI(api_key=KEY, reply_fn=model) as llm:
        settings = slack_settings(
            tmp_path,
            fake,
            LLM_PROVIDER="openai",
            LLM_BASE_URL=llm.base_url,
            LLM_API_KEY=KEY,
            LLM_MODEL=TEXT_MODEL,
            LLM_PRICE_INPUT_PER_MTOK=0.0,
            LLM_PRICE_OUTPUT_PER_MTOK=40.0,
            DAILY_BUDGET_USD=budget,
            RETRY_BASE_S=0.01,
            DATABASE_URL=support.DATABASE_URL,  # the running test's PostgreSQL, None on SQLite
        )
        async with running_bot(fake, settings) as bot:
            yield bot, llm


def refusals(bot: Bot) -> list[FakeMessage]:
    return [e for e in bot.fake.ephemerals if REFUSED in e.text]


async def at_once(
    bot: Bot, llm: GatedOpenAI, sends: list[Callable[[], Awaitable[int]]], *, fit: int
) -> list[FakeMessage]:
    """Send everything at once with the provider's gate closed; wait until `fit` requests wait
    at the provider and the rest were refused, then open the gate and let all finish. Returns
    the refusals, after checking that exactly `fit` requests reached the provider."""
    arrived, refused = llm.arrived, len(refusals(bot))
    llm.gate.clear()
    assert await asyncio.gather(*(send() for send in sends)) == [200] * len(sends)
    try:
        await eventually(
            lambda: (
                llm.arrived - arrived >= fit and len(refusals(bot)) - refused >= len(sends) - fit
            )
        )
    except AssertionError:
        raise AssertionError(
            f"{llm.arrived - arrived} of {len(sends)} reached the provider and "
            f"{len(refusals(bot)) - refused} were refused; {fit} fit the budget"
        ) from None
    llm.gate.set()
    await bot.settle()
    assert llm.arrived - arrived == fit
    return refusals(bot)[refused:]


async def counts(bot: Bot) -> dict[str, int]:
    db = bot.app.room.deps.db
    return {
        "plans": int(await db.scalar("SELECT COUNT(*) FROM plans")),
        "revisions": int(await db.scalar("SELECT COUNT(*) FROM plan_revisions")),
        "steps": int(await db.scalar("SELECT COUNT(*) FROM steps")),
        "user turns": int(await db.scalar("SELECT COUNT(*) FROM turns WHERE role = 'user'")),
        "runs": int(await db.scalar("SELECT COUNT(*) FROM runs")),
        "reactions": int(await db.scalar("SELECT COUNT(*) FROM reactions")),
    }


async def assert_spend_within(bot: Bot, budget: float) -> None:
    db = bot.app.room.deps.db
    spent = float(await db.scalar("SELECT COALESCE(SUM(cost_usd), 0) FROM steps"))
    assert 0 < spent <= budget
    assert await db.scalar("SELECT COUNT(*) FROM reservations WHERE settled_at IS NULL") == 0


def assert_says_left(found: list[FakeMessage], left: str, budget: str, count: int) -> None:
    assert len(found) == count
    for refusal in found:
        assert f"{left} of {budget} is left today" in refusal.text, refusal.text


async def propose_plans(bot: Bot, n: int) -> list[FakeMessage]:
    """n plans of one text item each, one after another; returns their cards."""
    for i in range(1, n + 1):
        assert await bot.command("/propose", f'budget idea number {i} special:"1 text"') == 200
        await bot.settle()
    return [m for m in bot.channel_cards("plan ") if not m.is_reply]


async def drafts_of_plans(bot: Bot, n: int) -> list[FakeMessage]:
    """n plans proposed and run, one after another; returns their drafts."""
    await propose_plans(bot, n)
    for i in range(1, n + 1):
        assert await bot.command("/run", str(i)) == 200
        await bot.settle()
    found = bot.drafts()
    assert len(found) == n
    return found


async def test_concurrent_asks_run_only_as_many_as_the_budget_fits(tmp_path: Path) -> None:
    async with priced_bot(tmp_path, 0.20) as (bot, llm):
        before = await counts(bot)
        sends = [lambda i=i: bot.command("/ask", f"what about budgets {i}?") for i in range(5)]
        refused = await at_once(bot, llm, sends, fit=2)
        assert_says_left(refused, "$0.04", "$0.20", 3)
        after = await counts(bot)
        assert after["steps"] - before["steps"] == 2
        assert after["user turns"] - before["user turns"] == 2
        answers = [m for m in bot.fake.messages(CHANNEL) if header(m).startswith("Q: ")]
        assert len(answers) == 2
        await assert_spend_within(bot, 0.20)


async def test_concurrent_proposals_write_nothing_for_the_refused(tmp_path: Path) -> None:
    async with priced_bot(tmp_path, 0.20) as (bot, llm):
        sends = [lambda i=i: bot.command("/propose", f"budget idea {i}") for i in range(5)]
        refused = await at_once(bot, llm, sends, fit=2)
        assert_says_left(refused, "$0.04", "$0.20", 3)
        assert await counts(bot) == {
            "plans": 2,
            "revisions": 2,
            "steps": 2,
            "user turns": 2,
            "runs": 0,
            "reactions": 0,
        }
        assert len(bot.channel_cards("plan ")) == 2
        await assert_spend_within(bot, 0.20)


async def test_concurrent_refinements(tmp_path: Path) -> None:
    async with priced_bot(tmp_path, 0.20) as (bot, llm):
        await propose_plans(bot, 5)  # $0.01 spent
        before = await counts(bot)
        sends = [lambda i=i: bot.command("/refine", f"{i} sharper, take {i}") for i in range(1, 6)]
        refused = await at_once(bot, llm, sends, fit=2)
        assert_says_left(refused, "$0.03", "$0.20", 3)
        after = await counts(bot)
        assert after["revisions"] - before["revisions"] == 2
        assert after["steps"] - before["steps"] == 2
        assert after["user turns"] - before["user turns"] == 2
        await assert_spend_within(bot, 0.20)


async def test_concurrent_replies_in_plan_threads(tmp_path: Path) -> None:
    async with priced_bot(tmp_path, 0.20) as (bot, llm):
        cards = await propose_plans(bot, 5)
        before = await counts(bot)
        replies = [
            bot.fake.message_event(PROPOSER, "make it sharper", CHANNEL, thread_ts=card.ts)
            for card in cards
        ]
        sends = [lambda r=r: bot.event(r) for r in replies]
        refused = await at_once(bot, llm, sends, fit=2)
        assert_says_left(refused, "$0.03", "$0.20", 3)
        assert {r.thread_ts for r in refused} <= {card.ts for card in cards}
        after = await counts(bot)
        assert after["revisions"] - before["revisions"] == 2
        assert after["steps"] - before["steps"] == 2
        assert after["user turns"] - before["user turns"] == 2
        await assert_spend_within(bot, 0.20)


async def test_concurrent_regenerations(tmp_path: Path) -> None:
    async with priced_bot(tmp_path, 0.13) as (bot, llm):
        drafts = await drafts_of_plans(bot, 4)  # 8 calls: $0.016 spent, $0.114 left
        before = await counts(bot)
        events = [
            bot.fake.reaction_event(
                "reaction_added", user=APPROVER, reaction="repeat", channel=CHANNEL, ts=d.ts
            )
            for d in drafts
        ]
        refused = await at_once(bot, llm, [lambda e=e: bot.event(e) for e in events], fit=2)
        assert_says_left(refused, "$0.02", "$0.13", 2)
        after = await counts(bot)
        assert after["steps"] - before["steps"] == 2  # a text item's revision: one draft step
        assert after["reactions"] - before["reactions"] == 2
        revised = await bot.app.room.deps.db.scalar("SELECT COUNT(*) FROM posts WHERE rev = 2")
        assert revised == 2
        assert len([d for d in bot.drafts() if header(d).endswith("· draft 2")]) == 2
        await assert_spend_within(bot, 0.13)


async def test_concurrent_replies_in_draft_threads(tmp_path: Path) -> None:
    async with priced_bot(tmp_path, 0.13) as (bot, llm):
        drafts = await drafts_of_plans(bot, 4)
        before = await counts(bot)
        replies = [
            bot.fake.message_event(PROPOSER, "shorter, please", CHANNEL, thread_ts=d.ts)
            for d in drafts
        ]
        refused = await at_once(bot, llm, [lambda r=r: bot.event(r) for r in replies], fit=2)
        assert_says_left(refused, "$0.02", "$0.13", 2)
        after = await counts(bot)
        assert after["steps"] - before["steps"] == 2
        assert after["user turns"] - before["user turns"] == 2
        revised = await bot.app.room.deps.db.scalar("SELECT COUNT(*) FROM posts WHERE rev = 2")
        assert revised == 2
        await assert_spend_within(bot, 0.13)


async def test_concurrent_runs_count_a_call_in_flight(tmp_path: Path) -> None:
    async with priced_bot(tmp_path, 0.20) as (bot, llm):
        await propose_plans(bot, 4)  # $0.008 spent
        llm.gate.clear()
        assert await bot.command("/ask", "what is in flight?") == 200  # $0.08 while it waits
        await eventually(lambda: llm.arrived == 5)
        # $0.112 left: two runs at $0.048 fit, a third does not.
        sends = [lambda i=i: bot.command("/run", str(i)) for i in range(1, 5)]
        refused = await at_once(bot, llm, sends, fit=2)
        assert_says_left(refused, "$0.02", "$0.20", 2)
        assert (await counts(bot))["runs"] == 2
        assert len(bot.drafts()) == 2
        await assert_spend_within(bot, 0.20)


DEAD = "host:4242:dead01"  # a process that was killed: it never beats again


async def test_reservations_left_by_a_crash_are_settled_at_start_up(tmp_path: Path) -> None:
    async with FakeSlack() as fake:
        db_path = slack_settings(tmp_path, fake).db_path
    async with database_for(db_path.parent, db_path.name) as db, db.transaction() as conn:
        # A plan call that finished and recorded its cost, and an answer cut off mid-call:
        # both still hold $0.08, as a process killed before settling them would leave them.
        plan_id = await plans.create_plan(
            conn,
            persona="ai_editor",
            pillar="x",
            idea="left over",
            proposer=PROPOSER,
            platform="slack",
            channel_id=CHANNEL,
            now=1.0,
        )
        done = await steps.add_step(conn, name="plan", position=0, plan_id=plan_id, plan_rev=1)
        cut = await steps.add_step(conn, name="ask", position=0)
        await steps.mark_running(conn, cut, now=time.time(), owner=DEAD)
        await steps.finish_step(conn, done, status="done", now=time.time(), cost_usd=0.002)
        for step_id in (done, cut):
            await reservations.open_call(
                conn,
                amount_usd=0.08,
                run_id=None,
                step_id=step_id,
                now=time.time(),
                owner=DEAD,
            )
    # $0.10 a day: with both still open not even one answer ($0.08) would fit.
    async with priced_bot(tmp_path, 0.10) as (bot, llm):
        assert await bot.command("/ask", "does the budget recover?") == 200
        await bot.settle()
        assert refusals(bot) == []
        assert llm.arrived == 1
        rows = await bot.app.room.deps.db.fetchall(
            "SELECT step_id, spent_usd, settled_at FROM reservations ORDER BY id"
        )
        assert [(r["step_id"], r["spent_usd"]) for r in rows[:2]] == [(done, 0.002), (cut, 0.0)]
        assert all(r["settled_at"] is not None for r in rows)
        interrupted = await steps.get_step(bot.app.room.deps.db.reader, cut)
        assert interrupted is not None and interrupted.status == "failed"
