"""Real-protocol providers failing through the whole room (issue 5's scenarios): a 429 storm,
a hung image, item counts that are wrong, the daily budget, and a restart while fal works."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections import Counter
from pathlib import Path

from storage import plans, posts
from tests import db_rows
from tests.fakes.fal import FakeFal
from tests.fakes.providers import FakeOpenAI
from tests.provider_runs import (
    FAL_KEY,
    HERO_LINE,
    OPENAI_KEY,
    SEED_FORMATS,
    assert_adds_up,
    post_cards,
    propose,
    propose_and_run,
    run_steps,
)
from tests.provider_support import (
    IMAGE_MODEL,
    VIDEO_MODEL,
    ScriptedModel,
    StuckFal,
    TimedOpenAI,
    drafts_posted,
    provider_settings,
    step_line,
)
from tests.support import console_session

# -- 1. a 429 storm ---------------------------------------------------------------------------


async def test_a_429_storm_is_waited_out_and_every_attempt_recorded(tmp_path: Path) -> None:
    async with (
        TimedOpenAI(api_key=OPENAI_KEY, reply_fn=ScriptedModel()) as text,
        FakeFal(api_key=FAL_KEY, polls_in_queue=0, polls_in_progress=0) as fal,
    ):
        settings = provider_settings(tmp_path, text=text, fal=fal, PROVIDER_MAX_ATTEMPTS=4)
        async with console_session(settings) as session:
            await propose(session, "2 hero_text")
            text.fail(429, times=3, retry_after="0.2", message="Rate limit reached for requests")
            first = len(text.arrivals)
            await session.type("/run 1", user="writer")
            await session.settle()
            run = await plans.get_run(session.app.room.deps.db.reader, 1)
            cards = await post_cards(session)

    assert run is not None and run.status == "done"
    assert sorted(drafts_posted(session.transcript)) == ["hero_text"] * 2
    storm = text.arrivals[first : first + 4]
    assert [a.status for a in storm] == [429, 429, 429, 200]
    for previous, following in itertools.pairwise(storm):
        # RETRY_BASE_S is 0.01: only Retry-After can explain waits this long.
        assert following.at - previous.answered_at >= 0.2 - 0.005
    for card in cards.values():
        assert re.search(r"Draft done openai · .* · 4 attempts · ", step_line(card, "Draft"))
        assert_adds_up(card)


# -- 2. a hung provider -----------------------------------------------------------------------


async def test_a_hung_image_fails_its_step_and_the_run_goes_on(tmp_path: Path) -> None:
    stuck = "Draft 2 of 5"  # the second item's hero image never leaves fal's status endpoint
    async with (
        FakeOpenAI(api_key=OPENAI_KEY, reply_fn=ScriptedModel()) as text,
        StuckFal(
            api_key=FAL_KEY, stuck_prompts=(stuck,), polls_in_queue=0, polls_in_progress=0
        ) as fal,
    ):
        settings = provider_settings(
            tmp_path, text=text, fal=fal, STEP_TIMEOUT_S=0.5, PROVIDER_MAX_ATTEMPTS=2
        )
        async with console_session(settings) as session:
            await propose_and_run(session)
            reader = session.app.room.deps.db.reader
            found = await posts.posts_of_run(reader, 1)
            run = await plans.get_run(reader, 1)
            cards = await post_cards(session)

    hung = next(p for p in found if p.headline.startswith(stuck))
    others = [p for p in found if p.id != hung.id]
    assert run is not None and run.status == "done"
    assert hung.status == "failed" and hung.content_format == "hero_text"
    assert hung.error == (
        "hero image failed: no answer within 0.5s (step timeout) (gave up after 2 attempts)"
    )
    assert {p.status for p in others} == {"awaiting_approval"}
    assert sorted(p.content_format for p in others) == ["hero_text"] * 3 + ["video"]
    assert sorted(drafts_posted(session.transcript)) == ["hero_text"] * 3 + ["video"]
    failed_message = f"post {hung.id} · @aiaaron · hero_text · failed\n    {hung.error}"
    assert failed_message in session.transcript
    line = step_line(cards[hung.id], "Hero image")
    assert line.startswith("Hero image failed · ") and line.endswith(hung.error.split(": ", 1)[1])
    assert "Hero-text card queued" in cards[hung.id]
    # The request we stopped waiting for was submitted once, and cancelled.
    hung_jobs = [job for job in fal.jobs.values() if fal.stuck(job.request_id)]
    assert len(hung_jobs) == 1 and hung_jobs[0].cancelled
    assert fal.submissions == Counter({IMAGE_MODEL: 5, VIDEO_MODEL: 1})


# -- 3. item counts ---------------------------------------------------------------------------


async def test_a_wrong_item_count_is_repaired_in_one_round(tmp_path: Path) -> None:
    model = ScriptedModel()
    model.short_batches = 1
    async with (
        FakeOpenAI(api_key=OPENAI_KEY, reply_fn=model) as text,
        FakeFal(api_key=FAL_KEY, polls_in_queue=0, polls_in_progress=0) as fal,
        console_session(provider_settings(tmp_path, text=text, fal=fal)) as session,
    ):
        await propose_and_run(session)
        cards = await post_cards(session)

    assert model.asked["DraftBatch"] == 2
    repair = [c for c in text.calls if c.schema_title == "DraftBatch"][1]
    assert (
        "Your previous answer failed validation: expected exactly 5 items "
        "(1 video, 4 hero_text), got 4 (1 video, 3 hero_text)"
    ) in repair.system
    assert sorted(drafts_posted(session.transcript)) == SEED_FORMATS
    # Both calls are paid for: $0.20 over 5 drafts; the repair round shows as a second attempt.
    for card in cards.values():
        assert " · $0.04 · " in step_line(card, "Draft")
        assert " · 2 attempts · " in step_line(card, "Draft")
        assert_adds_up(card)


async def test_a_count_that_stays_wrong_fails_the_run_and_posts_nothing(tmp_path: Path) -> None:
    model = ScriptedModel()
    model.short_batches = 99
    async with (
        FakeOpenAI(api_key=OPENAI_KEY, reply_fn=model) as text,
        FakeFal(api_key=FAL_KEY) as fal,
        console_session(provider_settings(tmp_path, text=text, fal=fal)) as session,
    ):
        await propose_and_run(session)
        reader = session.app.room.deps.db.reader
        run = await plans.get_run(reader, 1)
        found = await posts.posts_of_run(reader, 1)

    reason = (
        "the model's answer did not fit after a repair round: expected exactly 5 items "
        "(1 video, 4 hero_text), got 4 (1 video, 3 hero_text)"
    )
    assert model.asked["DraftBatch"] == 2
    assert run is not None and (run.status, run.error) == ("failed", reason)
    assert f"Run failed: {reason}" in session.transcript
    assert found == [] and drafts_posted(session.transcript) == []
    assert fal.requests == []


# -- 4. the budget ----------------------------------------------------------------------------


async def test_a_run_over_the_daily_budget_is_refused_before_any_paid_call(
    tmp_path: Path,
) -> None:
    model = ScriptedModel(prompt_tokens=100, completion_tokens=50)
    async with (
        FakeOpenAI(api_key=OPENAI_KEY, reply_fn=model) as text,
        FakeFal(api_key=FAL_KEY) as fal,
    ):
        settings = provider_settings(
            tmp_path, text=text, fal=fal, LLM_MODEL="gpt-4o-mini", DAILY_BUDGET_USD=0.10
        )
        settings = settings.model_copy(update={"llm_price_input": None, "llm_price_output": None})
        async with console_session(settings) as session:
            await propose(session, "4 hero_text")
            refused = await session.type("/run 1", user="writer")
            await session.settle()
            runs = await session.app.room.deps.db.reader.execute_fetchall("SELECT * FROM runs")

    # 4 images at $0.06 plus the drafts' text estimate; the plan spent well under a cent.
    assert refused.startswith("  ⚠ over the daily budget: this needs up to $0.24 and $0.10 of")
    assert "$0.10 is left today" in refused and "DAILY_BUDGET_USD" in refused
    assert list(runs) == []
    assert fal.submissions == Counter() and fal.requests == []
    assert model.asked == Counter({"PlanText": 1})


# -- 5. a restart while fal works ------------------------------------------------------------


async def test_a_restart_fetches_the_stored_fal_request_instead_of_paying_again(
    tmp_path: Path,
) -> None:
    model = ScriptedModel()
    async with (
        FakeOpenAI(api_key=OPENAI_KEY, reply_fn=model) as text,
        FakeFal(api_key=FAL_KEY, polls_in_queue=10_000, polls_in_progress=0) as fal,
    ):
        settings = provider_settings(tmp_path, text=text, fal=fal)
        async with console_session(settings) as first:
            await propose(first, "2 hero_text")
            await first.type("/run 1", user="writer")
            await wait_for_handles(settings.db_path, 2)
        stored = await handles(settings.db_path)
        assert fal.submissions == Counter({IMAGE_MODEL: 2})
        assert all(job.polls >= 1 and not job.completed for job in fal.jobs.values())

        fal.options.polls_in_queue = 0  # the queue moves on while we are down
        async with console_session(settings) as second:
            await second.settle()
            cards = await post_cards(second)
            done = await run_steps(second)

    assert fal.submissions == Counter({IMAGE_MODEL: 2})  # nothing paid twice
    assert all(job.completed for job in fal.jobs.values())
    images = [s for s in done if s.name == "hero_image"]
    assert [s.status for s in images] == ["done", "done"]
    assert [s.attempts for s in images] == [1, 1]
    assert sorted(s.handle_json for s in images) == sorted(stored)
    assert sorted(drafts_posted(second.transcript)) == ["hero_text"] * 2
    assert model.asked["DraftBatch"] == 1
    for card in cards.values():
        assert HERO_LINE.match(step_line(card, "Hero image")), card


async def wait_for_handles(db_path: Path, count: int) -> None:
    """Until `count` steps have a provider request stored (at most 10 s)."""
    for _ in range(500):
        if len(await handles(db_path)) >= count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"fewer than {count} fal handles were stored")


async def handles(db_path: Path) -> list[str]:
    sql = "SELECT handle_json FROM steps WHERE handle_json IS NOT NULL"
    return [str(row[0]) for row in await asyncio.to_thread(db_rows.rows, db_path, sql)]
