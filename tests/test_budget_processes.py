"""The daily budget holds across processes: two draftroom processes in Slack HTTP mode on one
database, twenty runs started at once (ten at each) with the provider holding every request,
and exactly as many start as the budget fits — counted at the fake provider and in the
database. On SQLite two processes share the file through its lock, which is no deployment, but
the promise is the same; PostgreSQL is what replicas run on."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.db_rows import scalar
from tests.fakes.slack import FakeMessage, FakeSlack
from tests.provider_support import TEXT_MODEL, ScriptedModel
from tests.slack_processes import slack_processes
from tests.slack_support import CHANNEL, header, running_bot, slack_settings
from tests.support import wait_until
from tests.test_budget_concurrency import KEY, REFUSED, GatedOpenAI, propose_plans

PLANS = 20
FITS = 5
PLAN_COST = 0.002  # each plan call: 50 output tokens at $40 per million
RUN_ESTIMATE = 0.048  # the draft of one text item: 1200 tokens at $40 per million


def priced(llm: GatedOpenAI, budget: float) -> dict[str, str]:
    return {
        "LLM_PROVIDER": "openai",
        "LLM_BASE_URL": llm.base_url,
        "LLM_API_KEY": KEY,
        "LLM_MODEL": TEXT_MODEL,
        "LLM_PRICE_INPUT_PER_MTOK": "0",
        "LLM_PRICE_OUTPUT_PER_MTOK": "40",
        "DAILY_BUDGET_USD": str(budget),
        "RETRY_BASE_S": "0.01",
    }


def drafts(fake: FakeSlack) -> list[FakeMessage]:
    mine = fake.messages(CHANNEL, user=fake.bot_user_id)
    return [m for m in mine if not m.is_reply and " · draft " in header(m)]


async def test_two_processes_start_only_the_runs_the_budget_fits(tmp_path: Path) -> None:
    model = ScriptedModel(prompt_tokens=100, completion_tokens=50)
    async with FakeSlack() as fake, GatedOpenAI(api_key=KEY, reply_fn=model) as llm:
        # Twenty plans of one text item, made by one bot with room to spare.
        env = priced(llm, 10.0)
        settings = slack_settings(tmp_path, fake, **env)
        async with running_bot(fake, settings) as bot:
            await propose_plans(bot, PLANS)
        db = settings.db_path
        spent = float(scalar(db, "SELECT SUM(cost_usd) FROM steps"))
        assert round(spent, 6) == round(PLANS * PLAN_COST, 6)
        # Room for FITS runs and less than one more.
        budget = round(spent + FITS * RUN_ESTIMATE + RUN_ESTIMATE / 2, 6)
        asked = llm.arrived
        async with slack_processes(fake, tmp_path, 2, **priced(llm, budget)) as (one, two):
            llm.gate.clear()
            sends = [(one if i % 2 else two).command("/run", str(i)) for i in range(1, PLANS + 1)]
            assert await asyncio.gather(*sends) == [200] * PLANS

            def refused() -> int:
                return sum(1 for e in fake.ephemerals if REFUSED in e.text)

            await wait_until(
                lambda: llm.arrived - asked >= FITS and refused() >= PLANS - FITS, timeout=60
            )
            assert llm.arrived - asked == FITS
            llm.gate.set()
            await wait_until(
                lambda: (
                    scalar(db, "SELECT COUNT(*) FROM runs WHERE status IN ('done', 'failed')")
                    == FITS
                ),
                timeout=60,
            )
            assert scalar(db, "SELECT COUNT(*) FROM runs") == FITS
            assert scalar(db, "SELECT COUNT(*) FROM runs WHERE status = 'done'") == FITS
            assert refused() == PLANS - FITS
            await wait_until(lambda: len(drafts(fake)) == FITS, timeout=30)
        assert llm.arrived - asked == FITS
        total = float(scalar(db, "SELECT SUM(cost_usd) FROM steps"))
        assert total <= budget
        assert scalar(db, "SELECT COUNT(*) FROM reservations WHERE settled_at IS NULL") == 0
