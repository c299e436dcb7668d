"""Real-protocol providers through the whole room: the console adapter, real SQLite, and fake
OpenAI-compatible, Anthropic and fal servers on 127.0.0.1 (issue 5's scenarios): the seed's
batch, whose cost counts, and keys that never leak. Failures and recovery are in
test_provider_faults.py."""

from __future__ import annotations

import logging
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from storage import posts, steps
from storage.models import Step
from tests import db_rows, support
from tests.fakes.fal import FakeFal
from tests.fakes.providers import FakeAnthropic, FakeOpenAI
from tests.provider_runs import (
    ANTHROPIC_KEY,
    FAL_KEY,
    HERO_LINE,
    OPENAI_KEY,
    SEED_FORMATS,
    assert_adds_up,
    formats_of,
    post_cards,
    propose,
    propose_and_run,
    run_steps,
)
from tests.provider_support import (
    IMAGE_MODEL,
    TEXT_MODEL,
    VIDEO_MODEL,
    ScriptedModel,
    card_total,
    drafts_posted,
    provider_settings,
    step_line,
)
from tests.support import SEED_IDEA, SEED_SPECIAL, console_session

# -- 1. the seed's batch ----------------------------------------------------------------------


async def test_seed_batch_through_openai_text_and_fal_media(tmp_path: Path) -> None:
    model = ScriptedModel()  # $0.10 a call at the test prices
    async with (
        FakeOpenAI(api_key=OPENAI_KEY, reply_fn=model) as text,
        FakeFal(api_key=FAL_KEY, polls_in_queue=1, polls_in_progress=0) as fal,
    ):
        async with console_session(provider_settings(tmp_path, text=text, fal=fal)) as session:
            await propose_and_run(session)
            formats = await formats_of(session)
            cards = await post_cards(session)
            done = await run_steps(session)
            plan_step = await steps.plan_step(session.app.room.deps.db.reader, 1, 1)

        assert sorted(drafts_posted(session.transcript)) == SEED_FORMATS
        assert sorted(formats.values()) == SEED_FORMATS
        assert model.asked == Counter({"PlanText": 1, "DraftBatch": 1, "VideoScript": 1})
        # One submission per image or video step: 4 hero images, 1 poster frame, 1 clip.
        assert fal.submissions == Counter({IMAGE_MODEL: 5, VIDEO_MODEL: 1})
        assert all(r.headers["authorization"] == f"Key {FAL_KEY}" for r in fal.requests[:1])
        # The result URLs drop the model's sub-path, and the client followed them.
        assert any(p.startswith("/fal-ai/flux-pro/requests/") for p in fal.status_polls)

        # Text costs are usage x prices: 2000 x $10/M + 2000 x $40/M = $0.10 per call.
        assert plan_step is not None and plan_step.cost_usd == pytest.approx(0.10)
        by_name: dict[str, list[Step]] = {}
        for step in done:
            by_name.setdefault(step.name, []).append(step)
        assert [s.cost_usd for s in by_name["draft"]] == pytest.approx([0.02] * 5)
        assert [s.cost_usd for s in by_name["video_script"]] == pytest.approx([0.10])
        assert {s.status for s in done} == {"done"}

        for post_id, card in cards.items():
            assert_adds_up(card)
            assert step_line(card, "Draft").startswith(f"Draft done openai · {TEXT_MODEL} · $0.02")
            if formats[post_id] == "hero_text":
                assert HERO_LINE.match(step_line(card, "Hero image")), card
                assert card_total(card) == (Decimal("0.08"), 0)
            else:
                assert step_line(card, "Video script").startswith(
                    f"Video script done openai · {TEXT_MODEL} · $0.10 · api "
                )
                assert step_line(card, "Video clip").startswith(
                    f"Video clip done fal · {VIDEO_MODEL} · "
                )
                assert "_clip.mp4 · $0.40 · api " in step_line(card, "Video clip")
                assert card_total(card) == (Decimal("0.58"), 0)  # .02 + .10 + .06 + .40


async def test_seed_batch_with_anthropic_text_refine_and_ask(tmp_path: Path) -> None:
    # The shipped price of claude-sonnet-4-5 is $3/$15 per million: 25000 in + 5000 out = $0.15.
    model = ScriptedModel(prompt_tokens=25_000, completion_tokens=5_000)
    async with (
        FakeAnthropic(api_key=ANTHROPIC_KEY, reply_fn=model) as text,
        FakeFal(api_key=FAL_KEY, polls_in_queue=0, polls_in_progress=1) as fal,
    ):
        settings = provider_settings(
            tmp_path,
            text=text,
            fal=fal,
            LLM_MODEL="claude-sonnet-4-5",
            LLM_PRICE_INPUT_PER_MTOK=None,
            LLM_PRICE_OUTPUT_PER_MTOK=None,
        )
        async with console_session(settings) as session:
            await propose(session)
            revised = await session.type("/refine 1 end on the document line", user="writer")
            await session.type("/run 1", user="writer")
            await session.settle()
            answer = await session.type("/ask who grades the thresholds?", user="writer")
            formats = await formats_of(session)
            cards = await post_cards(session)

    assert "plan 1 · revision 2" in session.transcript, revised
    assert "Q: who grades the thresholds?" in session.transcript, answer
    assert model.asked == Counter(
        {"PlanText": 1, "Refinement": 1, "DraftBatch": 1, "VideoScript": 1, "Answer": 1}
    )
    sent = text.requests[0]
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == ANTHROPIC_KEY
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.body["model"] == "claude-sonnet-4-5" and isinstance(sent.body["max_tokens"], int)
    assert sorted(drafts_posted(session.transcript)) == SEED_FORMATS
    assert fal.submissions == Counter({IMAGE_MODEL: 5, VIDEO_MODEL: 1})
    for post_id, card in cards.items():
        assert_adds_up(card)
        assert step_line(card, "Draft").startswith(
            "Draft done anthropic · claude-sonnet-4-5 · $0.03"
        )
        if formats[post_id] == "hero_text":
            assert HERO_LINE.match(step_line(card, "Hero image")), card
            assert card_total(card) == (Decimal("0.09"), 0)
        else:
            assert card_total(card) == (Decimal("0.64"), 0)  # .03 + .15 + .06 + .40


async def test_real_text_with_no_fal_key_keeps_media_offline(tmp_path: Path) -> None:
    async with (
        FakeOpenAI(api_key=OPENAI_KEY, reply_fn=ScriptedModel()) as text,
        console_session(provider_settings(tmp_path, text=text)) as session,
    ):
        await propose_and_run(session, "1 hero_text, 1 video")
        cards = await post_cards(session)
    hero, video = cards[1], cards[2]
    assert step_line(hero, "Hero image").startswith("Hero image done offline · offline-image · ")
    assert step_line(video, "Video clip").startswith(
        "Video clip done local · draftroom-local-video"
    )


# -- 2. whose cost counts ---------------------------------------------------------------------


async def test_usage_cost_wins_and_missing_usage_is_unknown_not_zero(tmp_path: Path) -> None:
    model = ScriptedModel()
    model.costs["DraftBatch"] = 0.25  # OpenRouter's own figure; the price table says $0.10
    model.without_usage.add("VideoScript")
    async with (
        FakeOpenAI(api_key=OPENAI_KEY, reply_fn=model) as text,
        FakeFal(api_key=FAL_KEY, polls_in_queue=0, polls_in_progress=0) as fal,
        console_session(provider_settings(tmp_path, text=text, fal=fal)) as session,
    ):
        await propose_and_run(session)
        formats = await formats_of(session)
        cards = await post_cards(session)
        costs = await session.type("/costs")
        done = await run_steps(session)

    assert [s.cost_usd for s in done if s.name == "draft"] == pytest.approx([0.05] * 5)
    script = next(s for s in done if s.name == "video_script")
    assert (script.status, script.cost_usd, script.cost_known) == ("done", None, 0)
    for post_id, card in cards.items():
        assert_adds_up(card)
        assert " · $0.05 · " in step_line(card, "Draft")
        if formats[post_id] == "video":
            assert f"Video script done openai · {TEXT_MODEL} · cost unknown · api " in card
            assert "$0.51 total (+1 unknown)" in card  # .05 + ? + .06 + .40
        else:
            assert "$0.11 total · " in card and "unknown" not in card
    assert "(1 of unknown cost)" in costs


# -- 3. keys never leak -----------------------------------------------------------------------


async def test_keys_never_reach_logs_chat_or_the_database(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    model = ScriptedModel()
    async with (
        FakeOpenAI(api_key=OPENAI_KEY, reply_fn=model) as text,
        FakeFal(api_key=FAL_KEY, polls_in_queue=0, polls_in_progress=0) as fal,
    ):
        settings = provider_settings(tmp_path, text=text, fal=fal, PROVIDER_MAX_ATTEMPTS=2)
        async with console_session(settings) as session:
            # Providers that echo the key they were sent, on a failure that is final...
            text.fail(401, message=f"Incorrect API key provided: {OPENAI_KEY}")
            refused = await session.type(f'/propose {SEED_IDEA} special:"2 hero_text"')
            assert "could not be written: openai answered HTTP 401" in refused
            text.fail(400, message=f"Bad request from key {OPENAI_KEY}")
            await session.type(f'/propose {SEED_IDEA} special:"2 hero_text"')
            # ... and on failures that are retried and then recorded on a step.
            await propose(session, SEED_SPECIAL)
            text.fail(500, message=f"upstream error for {OPENAI_KEY}")
            fal.fail(503, message=f"overloaded; key {FAL_KEY}")
            fal.fail(403, message=f"Key {FAL_KEY} may not use this model")
            await session.type("/run 3", user="writer")
            await session.settle()
            for post in await posts.posts_of_run(session.app.room.deps.db.reader, 1):
                await session.type(f"/post {post.id}")
            await session.type("/costs")

    transcript = session.transcript
    assert "[redacted]" in transcript  # the echoes arrived, and were cut out
    assert "fal answered HTTP 403" in transcript  # the item failed for the 403, and said so
    assert any(r.name.startswith("httpcore") for r in caplog.records)  # DEBUG was captured
    logged = caplog.text + "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    stored = database_text(tmp_path)
    for key in (OPENAI_KEY, FAL_KEY, "LEAKCHECK"):
        assert key not in transcript
        assert key not in logged
        assert key not in stored


async def test_anthropic_key_echoes_are_cut_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with (
        FakeAnthropic(api_key=ANTHROPIC_KEY, reply_fn=ScriptedModel()) as text,
        console_session(provider_settings(tmp_path, text=text)) as session,
    ):
        text.fail(400, message=f"invalid request for {ANTHROPIC_KEY}")
        refused = await session.type(f'/propose {SEED_IDEA} special:"1 hero_text"')
        await propose(session, "1 hero_text")
        await session.type("/run 2", user="writer")
        await session.settle()

    assert "could not be written: anthropic answered HTTP 400 (error): invalid request for " in (
        refused
    )
    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    stored = database_text(tmp_path)
    for place in (session.transcript, logged, stored):
        assert ANTHROPIC_KEY not in place and "LEAKCHECK" not in place


def database_text(tmp_path: Path) -> str:
    """Every byte SQLite wrote (the database and any WAL left behind), as text; on PostgreSQL
    every row of every table, as text."""
    if support.DATABASE_URL is None:
        files = sorted(tmp_path.glob("draftroom.db*"))
        assert files
        return "\n".join(f.read_bytes().decode("utf-8", "replace") for f in files)
    db = tmp_path / "draftroom.db"  # not read on PostgreSQL
    tables = db_rows.rows(
        db, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    )
    found = [row for (t,) in tables for row in db_rows.rows(db, f'SELECT t::text FROM "{t}" t')]
    assert found
    return "\n".join(str(row[0]) for row in found)
