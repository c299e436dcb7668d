"""The pipeline on its own: a real database (the test's SQLite file or PostgreSQL database),
offline providers, runs executed directly.

What it promises about each step: its result is stored in one write, with the text it wrote and,
after an item's last step, the item's new status, so a write that fails leaves none of them. A
failing write is made with a real trigger that aborts the statement, as a full disk or a kill at
that moment would.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest

from bot.settings import EXAMPLE_PERSONAS
from pipeline.budget import Budget
from pipeline.media import MediaStore
from pipeline.personas import load_personas
from pipeline.providers.offline import OfflineImages, OfflineText, OfflineVideo
from pipeline.retry import RetryPolicy
from pipeline.runner import Limits, Pipeline, Providers, RunObserver
from pipeline.spec import parse_special
from storage import plans, posts, steps
from storage.db import Database
from storage.models import PlanRevision
from tests.support import database_for

# What the failing write raises: the trigger's message, from either database.
WRITE_FAILED = (sqlite3.IntegrityError, psycopg.errors.RaiseException)


class Heard:
    """Everything a run told its observer, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int]] = []

    async def run_progress(self, run_id: int) -> None:
        self.events.append(("progress", run_id))

    async def item_finished(self, post_id: int) -> None:
        self.events.append(("item", post_id))

    async def run_finished(self, run_id: int) -> None:
        self.events.append(("finished", run_id))


@contextlib.asynccontextmanager
async def pipeline_on(
    tmp_path: Path, observer: RunObserver | None = None
) -> AsyncIterator[Pipeline]:
    async with database_for(tmp_path) as db:
        yield Pipeline(
            db,
            Providers(OfflineText(), OfflineImages(), OfflineVideo()),
            load_personas(EXAMPLE_PERSONAS),
            MediaStore(tmp_path / "media"),
            Budget(5.0),
            retry=RetryPolicy(base_s=0.01),
            limits=Limits(),
            observer=observer,
        )


async def queue_run(db: Database, special: str) -> int:
    """A plan with one revision and a run of it, as /propose and /run leave them."""
    async with db.transaction() as conn:
        plan_id = await plans.create_plan(
            conn,
            persona="aiaaron",
            pillar="structural_dread",
            idea="who grades the thresholds",
            proposer="writer",
            platform="console",
            channel_id="console",
            now=1.0,
        )
        spec = parse_special(special, max_items=10)
        revision = PlanRevision(
            plan_id, 1, "labs grade themselves", "nobody checks", special, spec.to_json(),
            None, None, "writer", 1.0,
        )  # fmt: skip
        await plans.add_revision(conn, revision)
        return await plans.create_run(
            conn,
            plan_id=plan_id,
            plan_rev=1,
            platform="console",
            channel_id="console",
            started_by="writer",
            reserved_usd=0.0,
            now=1.0,
        )


async def abort_when(db: Database, table: str, condition: str) -> None:
    """Every UPDATE of `table` that makes `condition` true fails, rolling its write back."""
    async with db.transaction() as conn:
        if conn.dialect == "sqlite":
            await conn.execute(
                f"CREATE TRIGGER fail_write BEFORE UPDATE ON {table} WHEN {condition}"
                " BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
            )
            return
        await conn.execute(
            "CREATE FUNCTION fail_write() RETURNS trigger LANGUAGE plpgsql"
            " AS $$ BEGIN RAISE EXCEPTION 'disk I/O error'; END $$"
        )
        await conn.execute(
            f"CREATE TRIGGER fail_write BEFORE UPDATE ON {table} FOR EACH ROW WHEN ({condition})"
            " EXECUTE FUNCTION fail_write()"
        )


async def stop_aborting(db: Database, table: str) -> None:
    async with db.transaction() as conn:
        on = "" if conn.dialect == "sqlite" else f" ON {table}"
        await conn.execute(f"DROP TRIGGER fail_write{on}")


async def statuses(db: Database, run_id: int) -> dict[str, str]:
    return {s.name: s.status for s in await steps.steps_of_run(db.reader, run_id)}


async def test_the_observer_hears_the_run_move_on(tmp_path: Path) -> None:
    built_with, given = Heard(), Heard()
    async with pipeline_on(tmp_path, observer=built_with) as pipeline:
        first = await queue_run(pipeline.db, "1 hero_text")
        await pipeline.execute_run(first)
        second = await queue_run(pipeline.db, "1 hero_text")
        await pipeline.execute_run(second, given)  # the room gives its own, per run
        [post] = await posts.posts_of_run(pipeline.db.reader, first)

    assert post.status == "awaiting_approval"
    assert ("item", post.id) in built_with.events
    assert built_with.events[-1] == ("finished", first)
    assert built_with.events.count(("progress", first)) == 3  # the batch, the image, the card
    assert given.events[-1] == ("finished", second)
    assert not [e for e in built_with.events if e[1] == second]


async def test_an_items_last_step_and_its_status_are_one_write(tmp_path: Path) -> None:
    async with pipeline_on(tmp_path) as pipeline:
        db = pipeline.db
        run_id = await queue_run(db, "1 hero_text")
        await abort_when(db, "posts", "NEW.status = 'awaiting_approval'")
        with pytest.raises(WRITE_FAILED, match="disk I/O error"):
            await pipeline.execute_run(run_id)
        [post] = await posts.posts_of_run(db.reader, run_id)
        left = await statuses(db, run_id)
        image = [s for s in await steps.steps_of_run(db.reader, run_id) if s.name == "hero_image"]

        # The write that failed took the card's result with it; the image before it stays.
        assert post.status == "drafting"
        assert left == {"draft": "done", "hero_image": "done", "hero_card": "queued"}

        await stop_aborting(db, "posts")
        await pipeline.execute_run(run_id)  # as a restart would
        [post] = await posts.posts_of_run(db.reader, run_id)
        after = [s for s in await steps.steps_of_run(db.reader, run_id) if s.name == "hero_image"]
        finished = await statuses(db, run_id)

    assert post.status == "awaiting_approval"
    assert set(finished.values()) == {"done"}
    assert [(s.ended_at, s.attempts) for s in after] == [(s.ended_at, s.attempts) for s in image]


async def test_a_steps_text_is_stored_with_its_result_or_not_at_all(tmp_path: Path) -> None:
    async with pipeline_on(tmp_path) as pipeline:
        db = pipeline.db
        run_id = await queue_run(db, "1 video")
        await abort_when(db, "steps", "NEW.name = 'video_script' AND NEW.status = 'done'")
        with pytest.raises(WRITE_FAILED, match="disk I/O error"):
            await pipeline.execute_run(run_id)
        [post] = await posts.posts_of_run(db.reader, run_id)

        assert post.video_script == ""  # not the script of a step that is not done
        assert (await statuses(db, run_id))["video_script"] == "running"

        await stop_aborting(db, "steps")
        await pipeline.execute_run(run_id)
        [post] = await posts.posts_of_run(db.reader, run_id)
        finished = await statuses(db, run_id)

    assert post.status == "awaiting_approval"
    assert post.video_script
    assert finished == {
        "draft": "done",
        "video_script": "done",
        "poster_frame": "done",
        "video_clip": "skipped",
    }
