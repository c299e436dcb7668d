"""Provider storms through the whole room (console adapter, the test's real database, the fake
OpenAI server): a long run of 429s with Retry-After, a burst of 5xx, and a provider that hangs
past the step timeout, then a restart on the same database."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from storage import plans, posts, steps
from tests import db_rows
from tests.fakes.providers import ChatCall, Reply
from tests.provider_support import Arrival, ScriptedModel, TimedOpenAI, provider_settings
from tests.slack_support import eventually
from tests.support import ConsoleSession, console_session

RETRY_AFTER = 0.05
ATTEMPTS = 4
STEP_TIMEOUT = 0.3
EARLY = 0.005  # how much sooner than asked a sleep may wake (the event loop's clock resolution)
RETRIES = {"PROVIDER_MAX_ATTEMPTS": ATTEMPTS, "RETRY_BASE_S": 0.01}


def query(db_path: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """Read the database the way an operator would, beside the running room."""
    return db_rows.rows(db_path, sql, params)


def unfinished(db_path: Path) -> dict[str, int]:
    """Steps still "running", and runs still running or queued: what a restart must clear."""
    [(steps_running,)] = query(db_path, "SELECT COUNT(*) FROM steps WHERE status = 'running'")
    [(runs_open,)] = query(
        db_path, "SELECT COUNT(*) FROM runs WHERE status IN ('running', 'queued')"
    )
    return {"steps": steps_running, "runs": runs_open}


def step_status(db_path: Path, run_id: int, name: str) -> str | None:
    found = query(db_path, "SELECT status FROM steps WHERE run_id = ? AND name = ?", run_id, name)
    return found[0][0] if found else None


def assert_waited_out(arrivals: Iterable[Arrival], retry_after: float = RETRY_AFTER) -> None:
    """No request reached the provider before the Retry-After of the 429 before it elapsed."""
    for previous, following in itertools.pairwise(arrivals):
        if previous.status == 429:
            waited = following.at - previous.answered_at
            assert waited >= retry_after - EARLY, (previous, following)


async def propose(session: ConsoleSession, idea: str, special: str) -> str:
    return await session.type(f'/propose {idea} special:"{special}"', user="writer")


def drafts_printed(session: ConsoleSession) -> list[str]:
    """The draft cards the console printed."""
    return re.findall(r"\[m\d+\] post \d+ · ", session.transcript)


async def test_a_storm_of_429s_fails_each_call_after_its_attempts_with_a_reason(
    tmp_path: Path,
) -> None:
    async with TimedOpenAI(reply_fn=ScriptedModel()) as text:
        async with console_session(provider_settings(tmp_path, text=text, **RETRIES)) as session:
            db = session.app.room.deps.db
            out = await propose(session, "benchmarks as safety cases", "1 text")
            assert "plan 1 · @aiaaron" in out, out
            calm = len(text.arrivals)

            text.fail(429, times=50, retry_after=str(RETRY_AFTER), message="Rate limit reached")
            refused_plan = await propose(session, "model cards as marketing", "1 text")
            refused_note = await session.type("/refine 1 make it sharper")
            await session.type("/run 1")
            await session.settle()
            run = await plans.get_run(db.reader, 1)
            plan_steps = await db.fetchall(
                "SELECT plan_id, plan_rev, status, attempts, error FROM steps ORDER BY id"
            )

        storm = text.arrivals[calm:]
        # Three calls (the plan, the refinement, the batch), each tried exactly 4 times.
        assert [a.status for a in storm] == [429] * 3 * ATTEMPTS
        assert len(text.failures) == 50 - 3 * ATTEMPTS
        # Within a call and across calls: a new call waits out the Retry-After its provider gave.
        assert_waited_out(text.arrivals)

        reason = "openai answered HTTP 429 (rate limited): Rate limit reached"
        gave_up = f"{reason} (gave up after {ATTEMPTS} attempts)"
        # The plan card's place says so in the channel; the proposer reads why, privately.
        assert f"edited] plan 2 could not be written: {gave_up}" in refused_plan
        assert (
            refused_plan.strip().splitlines()[-1].strip()
            == f"⚠ plan 2 could not be written: {gave_up}"
        )
        assert refused_note.strip() == f"⚠ plan 1 could not be revised: {gave_up}"
        assert run is not None and run.status == "failed" and run.error == gave_up
        assert f"run 1 · plan 1 · failed\n    Run failed: {gave_up}" in session.transcript
        assert unfinished(session.app.settings.db_path) == {"steps": 0, "runs": 0}
        assert [tuple(s) for s in plan_steps] == [
            (1, 1, "done", 1, None),
            (2, 1, "failed", ATTEMPTS, gave_up),
            (1, 2, "failed", ATTEMPTS, gave_up),
        ]
        assert not drafts_printed(session)


async def test_a_5xx_burst_shorter_than_the_attempts_is_ridden_out(tmp_path: Path) -> None:
    async with (
        TimedOpenAI(reply_fn=ScriptedModel()) as text,
        console_session(provider_settings(tmp_path, text=text, **RETRIES)) as session,
    ):
        db = session.app.room.deps.db
        await propose(session, "benchmarks as safety cases", "2 text")
        calm = len(text.arrivals)
        for status in (500, 502, 503):
            text.fail(status, message="upstream is having a moment")
        out = await session.type("/run 1")
        await session.settle()
        run = await plans.get_run(db.reader, 1)
        items = await posts.posts_of_run(db.reader, 1)
        done = await steps.steps_of_run(db.reader, 1)

    assert "⚠" not in out, out
    assert [a.status for a in text.arrivals[calm:]] == [500, 502, 503, 200]
    assert run is not None and run.status == "done" and run.error is None
    assert [p.status for p in items] == ["awaiting_approval"] * 2
    assert {(s.name, s.status, s.attempts) for s in done} == {("draft", "done", ATTEMPTS)}
    assert unfinished(session.app.settings.db_path) == {"steps": 0, "runs": 0}
    assert len(drafts_printed(session)) == 2


class HangingModel(ScriptedModel):
    """ScriptedModel whose answers to the schemas in `hang` never come (within a test)."""

    def __init__(self) -> None:
        super().__init__()
        self.hang: set[str] = set()

    def __call__(self, call: ChatCall) -> Reply:
        reply = super().__call__(call)
        if call.schema_title in self.hang:
            reply.delay_s = 3600.0
        return reply


async def test_a_hung_provider_times_out_and_a_restart_leaves_nothing_running(
    tmp_path: Path,
) -> None:
    model = HangingModel()
    async with TimedOpenAI(reply_fn=model) as text:
        settings = provider_settings(tmp_path, text=text, STEP_TIMEOUT_S=STEP_TIMEOUT, **RETRIES)
        db_path = settings.db_path
        async with console_session(settings) as session:
            db = session.app.room.deps.db
            for n in (1, 2, 3):
                await propose(session, f"benchmarks as safety cases, take {n}", "1 video")

            # The batch call hangs: every attempt times out, and the run fails saying so.
            model.hang = {"DraftBatch"}
            calm = len(text.arrivals)
            await session.type("/run 1")
            await session.settle()
            run = await plans.get_run(db.reader, 1)
            # The step timeout also covers connecting and sending, and the fake answers on the
            # test's own event loop: on a starved machine an attempt can time out before its
            # request is out. The bot counts that attempt (below); the fake never sees it. So
            # the fake sees at most one request per attempt, and none of them is answered.
            hung = text.arrivals[calm:]
            assert 1 <= len(hung) <= ATTEMPTS and not [a for a in hung if a.status]
            timed_out = f"no answer within {STEP_TIMEOUT:g}s (step timeout)"
            assert run is not None and run.status == "failed"
            assert run.error == f"{timed_out} (gave up after {ATTEMPTS} attempts)"
            assert f"Run failed: {run.error}" in session.transcript

            # The video script hangs: its step fails saying so, the run goes on and finishes.
            model.hang = {"VideoScript"}
            await session.type("/run 2")
            await session.settle()
            [item] = await posts.posts_of_run(db.reader, 2)
            script = next(
                s for s in await steps.steps_of_run(db.reader, 2) if s.name == "video_script"
            )
            assert (script.status, script.attempts) == ("failed", ATTEMPTS)
            assert script.error == f"{timed_out} (gave up after {ATTEMPTS} attempts)"
            assert item.status == "failed" and item.error == f"video script failed: {script.error}"
            assert item.error in session.transcript
            run = await plans.get_run(db.reader, 2)
            assert run is not None and run.status == "done"

            # Stopped while the third run's video script is waiting on the hung provider.
            await session.type("/run 3")
            await eventually(lambda: step_status(db_path, 3, "video_script") == "running")
        assert unfinished(db_path) == {"steps": 1, "runs": 1}

        # The provider is healthy again; a new room on the same database finishes the run.
        model.hang = set()
        async with console_session(settings) as session:
            db = session.app.room.deps.db
            await session.settle()
            runs = [await plans.get_run(db.reader, n) for n in (1, 2, 3)]
            [item] = await posts.posts_of_run(db.reader, 3)

    assert [r.status if r else None for r in runs] == ["failed", "done", "done"]
    assert item.status == "awaiting_approval" and step_status(db_path, 3, "video_script") == "done"
    assert unfinished(db_path) == {"steps": 0, "runs": 0}
