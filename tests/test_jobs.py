"""procrastinate's jobs only trigger: the database rows guard the work. A `run` job deferred
twice for one run, and again after it finished, pays every call once and posts one draft per
item; two `publish` jobs at once for one approved post publish it once (fails when the claim
of a destination does not check its state)."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.bootstrap import App, build
from bot.console import Console
from bot.settings import Settings
from pipeline.procrastinate_queue import ProcrastinateRunQueue
from tests.crash_support import draft_cards
from tests.fakes.fal import FakeFal
from tests.fakes.providers import FakeOpenAI
from tests.provider_support import ScriptedModel, provider_settings
from tests.support import SEED_IDEA, SEED_SPECIAL, make_settings, wait_until
from tests.test_publish_webhook import SECRET, Receiver

# The seed's batch on fal: four hero images, a poster frame and one video clip.
MEDIA_CALLS = 6
RUN = "draftroom.run"
PUBLISH = "draftroom.publish"


@pytest.fixture(autouse=True)
def postgres_only(backend: str) -> None:
    if backend == "sqlite":
        pytest.skip("procrastinate runs on PostgreSQL")


@contextlib.asynccontextmanager
async def room_without_workers(
    settings: Settings,
) -> AsyncIterator[tuple[App, Console, io.StringIO]]:
    """The room with no job worker yet: the test defers jobs, then starts one."""
    async with build(settings, jobs_here=False) as app:
        out = io.StringIO()
        console = Console(app.room, user="writer", approvers=settings.approvers, out=out)
        await app.room.start()
        try:
            yield app, console, out
        finally:
            if app.jobs is not None:
                await app.jobs.stop_worker()
            await app.room.stop()


async def jobs_left(app: App) -> list[tuple[str, str]]:
    """Jobs not finished, as (task, status)."""
    assert app.jobs is not None
    found = await app.jobs.app.connector.execute_query_all_async(
        "SELECT task_name, status::text AS status FROM procrastinate_jobs"
        " WHERE status IN ('todo', 'doing') AND task_name <> 'draftroom.sweep'"
    )
    return [(str(row["task_name"]), str(row["status"])) for row in found]


async def finished(app: App, task: str) -> int:
    assert app.jobs is not None
    found = await app.jobs.app.connector.execute_query_all_async(
        "SELECT COUNT(*) AS n FROM procrastinate_jobs WHERE task_name = %(task)s"
        " AND status = 'succeeded'",
        task=task,
    )
    return int(found[0]["n"])


async def test_a_run_job_twice_and_once_more_after_it_finished_pays_each_call_once(
    tmp_path: Path,
) -> None:
    model = ScriptedModel()
    async with (
        FakeOpenAI(reply_fn=model) as text,
        FakeFal(polls_in_queue=1, polls_in_progress=1) as fal,
    ):
        settings = provider_settings(
            tmp_path, text=text, fal=fal, FAL_POLL_INTERVAL_S="0.05", CONCURRENT_RUNS="4"
        )
        async with room_without_workers(settings) as (app, console, out):
            assert app.jobs is not None
            await console.handle_line(f'/propose {SEED_IDEA} special:"{SEED_SPECIAL}"')
            await console.handle_line("/run 1")
            # The /run deferred one job; a second for the same run, deferred beside it.
            await app.jobs.app.configure_task(RUN).defer_async(run_id=1)
            assert await jobs_left(app) == [(RUN, "todo"), (RUN, "todo")]
            app.jobs.start_worker(concurrency=4, name="test")
            await wait_until(lambda: finished(app, RUN), 60)
            await app.room.wait_idle(timeout=60)
            await wait_until(lambda: finished_all(app, RUN, 2), 30)
            paid_text = dict(model.asked)
            assert sum(fal.submissions.values()) == MEDIA_CALLS

            await app.jobs.defer_run(1)  # after the run finished
            await wait_until(lambda: finished_all(app, RUN, 3), 30)
            await app.room.wait_idle(timeout=30)
            assert dict(model.asked) == paid_text
            assert sum(fal.submissions.values()) == MEDIA_CALLS
            db = app.room.deps.db
            assert [tuple(r) for r in await db.fetchall("SELECT status FROM runs")] == [("done",)]
            assert draft_cards(out.getvalue()) == {(post, 1): 1 for post in range(1, 6)}


async def finished_all(app: App, task: str, count: int) -> bool:
    return await finished(app, task) == count and not await jobs_left(app)


async def test_two_publish_jobs_at_once_publish_the_post_once(tmp_path: Path) -> None:
    async with Receiver() as receiver:
        settings = make_settings(
            tmp_path, PUBLISH_WEBHOOK_URL=receiver.url, PUBLISH_WEBHOOK_SECRET=SECRET
        )
        async with room_without_workers(settings) as (app, console, out):
            assert app.jobs is not None
            await console.handle_line('/propose one post special:"1 text"')
            await console.handle_line("/run 1")
            app.jobs.start_worker(concurrency=4, name="test")
            await app.room.wait_idle(timeout=60)
            await app.jobs.stop_worker()
            console.user = "editor"
            await console.handle_line("react post 1 ✅")  # defers a publish job
            await app.jobs.app.configure_task(PUBLISH).defer_async(post_id=1)  # and a second
            assert await jobs_left(app) == [(PUBLISH, "todo"), (PUBLISH, "todo")]
            app.jobs.start_worker(concurrency=4, name="test")
            await wait_until(lambda: finished_all(app, PUBLISH, 2), 30)
            await app.room.wait_idle(timeout=30)
            assert len(receiver.received) == 1
            db = app.room.deps.db
            rows = await db.fetchall("SELECT destination, state, attempts FROM publication_targets")
            assert [tuple(r) for r in rows] == [("webhook", "published", 1)]
            assert await db.scalar("SELECT status FROM posts WHERE id = 1") == "published"
            assert out.getvalue().count("post 1 is published") == 1


async def test_a_job_deferred_while_settle_asks_about_others_is_still_waited_for(
    tmp_path: Path,
) -> None:
    # CI saw a publish deferred during settle's query be forgotten: settle returned with the
    # post still publishing. No worker runs here, so every job deferred must stay waited for.
    async with room_without_workers(make_settings(tmp_path)) as (app, _console, _out):
        queue = app.room.deps.queue
        assert isinstance(queue, ProcrastinateRunQueue)
        assert await queue.defer_publication(10_000)
        settling = asyncio.create_task(queue.settle())
        try:
            for post_id in range(10_001, 10_041):
                assert await queue.defer_publication(post_id)
            assert len(queue.waiting_for) == 41
            assert len(await jobs_left(app)) == 41
            assert not settling.done()
        finally:
            settling.cancel()


async def test_a_process_that_deferred_nothing_works_the_jobs_others_defer(
    tmp_path: Path,
) -> None:
    # A `draftroom run` beside a process that only defers (as `serve` does): its worker must
    # run from its start, not from the first job it defers itself.
    settings = make_settings(tmp_path)
    async with build(settings) as worker_app:
        await worker_app.room.start()
        try:
            async with room_without_workers(settings) as (app, console, _out):
                await console.handle_line('/propose one post special:"1 text"')
                await console.handle_line("/run 1")
                await wait_until(lambda: finished_all(app, RUN, 1), 30)
                db = app.room.deps.db
                assert await db.scalar("SELECT status FROM runs WHERE id = 1") == "done"
        finally:
            await worker_app.room.stop()
