"""Reading the library: /posts, /costs, /ask, and the chat references bot turns leave."""

from __future__ import annotations

from pathlib import Path

from storage import chat, plans
from tests.support import console_session, make_settings


async def test_library_commands_and_references(tmp_path: Path) -> None:
    async with console_session(make_settings(tmp_path)) as session:
        await session.type(
            "/propose self-graded capability thresholds in responsible scaling policies "
            'special:"2 hero_text"'
        )
        await session.type("/run 1")
        await session.settle()

        listing = await session.type("/posts awaiting_approval aiaaron")
        assert "2 recent posts" in listing
        assert "post 2 · @aiaaron · hero_text · awaiting approval · $0.00" in listing
        assert "No posts match." in await session.type("/posts published")

        costs = await session.type("/costs 1")
        assert "Spend, last 1 days: $0.00" in costs
        assert "@aiaaron · offline · $0.00" in costs

        answer = await session.type("/ask what did we say about capability thresholds?")
        assert "From the post library:" in answer
        assert "Sources\n    post 1, post 2" in answer or "Sources\n    post 2, post 1" in answer

        # A second plan on the same ground names the closest recent post and says it is close.
        plan = await session.type(
            "/propose capability thresholds that labs grade themselves in scaling policies"
        )
        assert "Recent post" in plan
        revision = await plans.get_revision(session.app.room.deps.db.reader, 2, 1)
        assert revision is not None and revision.closest_post_id in (1, 2)

        card = await session.type(f"/post {revision.closest_post_id}")
        references = card[card.index("Chat References") :]
        assert "answered" in references and "closest" in references
        refs = await chat.references_to(session.app.room.deps.db.reader, revision.closest_post_id)
        assert {r.how for r in refs} == {"answered", "closest"}


async def test_thumbs_up_on_the_plan_card_starts_one_run(tmp_path: Path) -> None:
    async with console_session(make_settings(tmp_path)) as session:
        await session.type('/propose a plan to run by reaction special:"1 text"', user="writer")
        await session.type("react plan 1 ✅", user="stranger")  # not an approver
        await session.settle()
        assert await plans.get_run(session.app.room.deps.db.reader, 1) is None
        await session.type("react plan 1 ✅", user="editor")
        await session.type("react plan 1 ✅", user="chief")
        await session.settle()
        assert await plans.get_run(session.app.room.deps.db.reader, 1) is not None
        assert await plans.get_run(session.app.room.deps.db.reader, 2) is None
        assert "post 1 · @aiaaron · text · draft 1" in session.transcript


async def test_refining_with_a_new_batch_and_a_too_big_one(tmp_path: Path) -> None:
    async with console_session(make_settings(tmp_path)) as session:
        await session.type("/propose benchmark theater")
        answer = await session.type('/refine 1 special:"1 image, 1 text"')
        assert "batch is now 2 items: 1 image, 1 text" in answer
        refused = await session.type('/refine #1 special:"40 text"')
        assert "40 items is more than the limit of 10" in refused
        plan = await plans.get_plan(session.app.room.deps.db.reader, 1)
        assert plan is not None and plan.current_rev == 2
