"""The post card reads like the seed's post page: same sections, same order, same step line."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from handlers.cards import NO_REFERENCES, age, post_card, step_line, when
from storage.models import Plan, PlanRevision, Post, Step

SEED_PAGE = Path(__file__).parent / "data" / "seed_post_page.txt"  # the seed's page, in outline
MAY_11_553 = datetime(2026, 5, 11, 17, 53).timestamp()
MAY_11_554 = datetime(2026, 5, 11, 17, 54).timestamp()


def seed_records() -> tuple[Post, Plan, PlanRevision, Step]:
    plan = Plan(
        7, "aiaaron", "structural_dread", "benchmarks", "writer", "console", "c", 1, 0.0, number=7
    )
    revision = PlanRevision(
        7,
        1,
        "Evergreen take on the benchmark theater problem.",
        "Structural dread pillar. Different enough to run.",
        "Generate exactly 5 items: 1 with content_format='video' and 4 with "
        "content_format='hero_text'.",
        "[]",
        None,
        None,
        "writer",
        0.0,
    )
    post = Post(
        id=34,
        run_id=1,
        plan_id=7,
        plan_rev=1,
        item_index=0,
        persona="aiaaron",
        pillar="structural_dread",
        content_format="hero_text",
        rev=1,
        status="published",
        status_changed_at=MAY_11_553,
        headline="When the benchmark is the safety case",
        body="There is a specific structure.",
        caption="a prior, not a commitment #ai",
        video_script="",
        error=None,
        created_at=MAY_11_553,
        number=34,
    )
    step = Step(
        id=1,
        plan_id=None,
        plan_rev=None,
        run_id=1,
        post_id=34,
        post_rev=1,
        position=1,
        name="hero_image",
        status="done",
        provider="fal",
        model="fal-ai/flux-pro/v1.1-ultra",
        artifact="e5tXJC_rc-At_hero.png",
        cost_usd=0.06,
        cost_known=1,
        latency_s=19.5,
        started_at=MAY_11_554 - 19.5,
        ended_at=MAY_11_554,
        attempts=1,
        error=None,
        input_json=None,
        handle_json=None,
        output_json=None,
    )
    return post, plan, revision, step


def test_step_line_matches_the_seed() -> None:
    *_, step = seed_records()
    assert step_line(1, step) == (
        "1. Hero image done fal · fal-ai/flux-pro/v1.1-ultra · e5tXJC_rc-At_hero.png · $0.06 · "
        "api 19.5s · May 11, 5:54 PM"
    )


def test_card_has_the_seed_sections_in_the_seed_order() -> None:
    post, plan, revision, step = seed_records()
    card = post_card(post, plan, revision, [step], [], now=MAY_11_553 + 48 * 86400 + 60)
    text = card.plain_text()
    assert card.title == "@aiaaron · post 34 · When the benchmark is the safety case"
    assert card.sections[0].text == (
        "published · May 11, 5:53 PM · $0.06 total · published 48d ago"
    )
    headings = [s.heading for s in card.sections]
    assert headings == [
        None,
        "Plan (drafter input)",
        "Body",
        "Caption",
        "Pipeline",
        "Chat References",
    ]
    assert "planner structural_dread" in text
    assert "special_message: Generate exactly 5 items" in text
    assert card.sections[-1].text == NO_REFERENCES


def test_the_card_reads_like_the_seed_page() -> None:
    page = SEED_PAGE.read_text()
    post, plan, revision, step = seed_records()
    card = post_card(post, plan, revision, [step], [], now=MAY_11_553 + 48 * 86400 + 60)
    lines = page.splitlines()
    # Every heading of the card is a line of the page, in the page's order.
    headings = [s.heading for s in card.sections if s.heading]
    positions = [lines.index(heading) for heading in headings]
    assert positions == sorted(positions)
    assert card.sections[0].text in lines  # the status line
    assert card.sections[-1].text in lines  # no references yet
    assert f"← @{post.persona}" in lines and post.headline in lines
    # The page spreads a step over lines; the card's step line has each of them, in order.
    pipeline = page[page.index("\nPipeline\n") : page.index("\nChat References\n")]
    parts = step_line(1, step).split(" · ")
    assert [pipeline.index(part) for part in parts] == sorted(pipeline.index(p) for p in parts)


def test_times_and_ages_read_like_the_seed() -> None:
    assert when(MAY_11_553) == "May 11, 5:53 PM"
    assert age(48 * 86400 + 5) == "48d"
    assert age(90) == "1m"
