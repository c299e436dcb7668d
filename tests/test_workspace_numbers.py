"""Plans and posts are numbered within their workspace (storage/numbering.py): what people type
(`/run 2`, `/post 5`) names one plan or post of their own channel, whoever else numbers theirs
alike. On both databases, with two processes writing at once, and on a file an earlier
version wrote."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from storage import plans, posts
from storage.db import Database
from storage.models import Place
from storage.sqlite_db import SqliteDatabase
from tests.support import database_for, sqlite_at_schema

ALPHA: Place = ("slack", "TALPHA/C1")
BETA: Place = ("slack", "TBETA/C1")  # the same channel id, in another workspace
WORKSPACES = {ALPHA: "slack:TALPHA", BETA: "slack:TBETA"}


async def propose(
    db: Database, place: Place, idea: str, *, items: int = 0, workspace: str | None = None
) -> int:
    """A plan in `place` (of its workspace in WORKSPACES unless given), and a run of it with
    `items` posts; the plan's id."""
    async with db.transaction() as conn:
        plan_id = await plans.create_plan(
            conn,
            persona="aiaaron",
            pillar="structural_dread",
            idea=idea,
            proposer="slack:U1",
            platform=place[0],
            channel_id=place[1],
            now=1.0,
            workspace=workspace or WORKSPACES.get(place),
        )
        await asyncio.sleep(0)  # let the other writer try its turn inside this transaction
        if items:
            run_id = await plans.create_run(
                conn,
                plan_id=plan_id,
                plan_rev=1,
                platform=place[0],
                channel_id=place[1],
                started_by="slack:U1",
                reserved_usd=0.0,
                now=1.0,
            )
            for index in range(items):
                await posts.create_post(
                    conn,
                    run_id=run_id,
                    plan_id=plan_id,
                    plan_rev=1,
                    item_index=index,
                    persona="aiaaron",
                    pillar="structural_dread",
                    content_format="hero_text",
                    now=1.0,
                )
    return plan_id


async def test_two_processes_proposing_at_once_number_each_workspace_from_one(
    tmp_path: Path,
) -> None:
    first, second = database_for(tmp_path), database_for(tmp_path)
    async with first, second:
        ideas = [(db, place, f"{place[1]} idea {i}") for i in range(3) for db, place in (
            (first, ALPHA), (second, ALPHA), (second, BETA),
        )]  # fmt: skip
        await asyncio.gather(*(propose(db, place, idea, items=2) for db, place, idea in ideas))

        reader = first.reader
        for place, count in ((ALPHA, 6), (BETA, 3)):
            numbers = await plans.recent_plan_numbers(reader, 10, place=place)
            assert sorted(numbers) == list(range(1, count + 1)), (place, numbers)
            post_numbers = await posts.recent_post_numbers(reader, 20, place=place)
            assert sorted(post_numbers) == list(range(1, 2 * count + 1)), (place, post_numbers)
            runs = await reader.execute_fetchall(
                "SELECT number FROM runs WHERE platform = ? AND channel_id = ?", place
            )
            assert sorted(int(r[0]) for r in runs) == list(range(1, count + 1))

        # Number 2 of each channel is that channel's own plan, and its posts its own.
        alpha = await plans.plan_numbered(reader, 2, ALPHA)
        beta = await plans.plan_numbered(reader, 2, BETA)
        assert alpha is not None and beta is not None and alpha.id != beta.id
        assert alpha.idea.startswith(ALPHA[1]) and beta.idea.startswith(BETA[1])
        post = await posts.post_numbered(reader, 2, BETA)
        assert post is not None and post.place == BETA
        owner = await plans.get_plan(reader, post.plan_id)
        assert owner is not None and owner.workspace == WORKSPACES[BETA]
        assert await plans.plan_numbered(reader, 4, BETA) is None  # B has three


async def test_a_proposal_rolled_back_gives_its_number_back(tmp_path: Path) -> None:
    async with database_for(tmp_path) as db:
        await propose(db, ALPHA, "kept")
        with contextlib.suppress(RuntimeError):
            async with db.transaction() as conn:
                await plans.create_plan(
                    conn,
                    persona="aiaaron",
                    pillar="structural_dread",
                    idea="refused",
                    proposer="slack:U1",
                    platform=ALPHA[0],
                    channel_id=ALPHA[1],
                    now=1.0,
                    workspace=WORKSPACES[ALPHA],
                )
                raise RuntimeError("the budget refused it")
        await propose(db, ALPHA, "next")
        found = await plans.plan_numbered(db.reader, 2, ALPHA)
        assert found is not None and found.idea == "next"


async def test_sqlite_numbers_written_before_workspaces_stay_and_new_ones_count_past_them(
    tmp_path: Path,
) -> None:
    """A file of schema 22 had ids only: each row keeps its id as its number, so `/post 3`
    still opens post 3, and every workspace numbers on from past the highest."""
    path = tmp_path / "draftroom.db"
    place = ("slack", "C1")
    with contextlib.closing(sqlite_at_schema(path, 22)) as conn, conn:
        for plan_id in (1, 2, 3):
            conn.execute(
                "INSERT INTO plans (id, persona, pillar, idea, proposer, platform, channel_id,"
                " created_at) VALUES (?, 'aiaaron', 'p', ?, 'slack:U1', ?, ?, 1.0)",
                (plan_id, f"old {plan_id}", *place),
            )
        conn.execute(
            "INSERT INTO runs (id, plan_id, plan_rev, status, platform, channel_id, started_by,"
            " created_at) VALUES (1, 3, 1, 'done', ?, ?, 'slack:U1', 1.0)",
            place,
        )
        conn.execute(
            "INSERT INTO posts (id, run_id, plan_id, plan_rev, item_index, persona, pillar,"
            " content_format, status, status_changed_at, created_at, platform, channel_id)"
            " VALUES (7, 1, 3, 1, 0, 'aiaaron', 'p', 'text', 'published', 1.0, 1.0, ?, ?)",
            place,
        )

    async with SqliteDatabase(path) as db:
        old = await plans.plan_numbered(db.reader, 2, place)
        assert old is not None and (old.id, old.idea) == (2, "old 2")
        post = await posts.post_numbered(db.reader, 7, place)
        assert post is not None and post.id == 7
        await propose(db, place, "new", items=1, workspace="slack:TOLD")
        assert await plans.recent_plan_numbers(db.reader, 5, place=place) == [4, 3, 2, 1]
        assert await posts.recent_post_numbers(db.reader, 5, place=place) == [8, 7]
