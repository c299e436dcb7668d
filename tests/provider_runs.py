"""Driving the whole room against the fake providers: the keys the fakes accept, the seed's
batch proposed and run in the console, and what its post cards and steps say."""

from __future__ import annotations

import re

from storage import posts, steps
from storage.models import Step
from tests.provider_support import (
    IMAGE_MODEL,
    card_total,
    step_costs,
)
from tests.support import SEED_IDEA, SEED_SPECIAL, ConsoleSession

OPENAI_KEY = "sk-proj-LEAKCHECK-openai-0123456789abcdef"
ANTHROPIC_KEY = "sk-ant-api03-LEAKCHECK-anthropic-0123456789"
FAL_KEY = "fal-key-id:LEAKCHECK-fal-secret-9876543210"
SEED_FORMATS = ["hero_text"] * 4 + ["video"]
WHEN = r"[A-Z][a-z]{2} \d{1,2}, \d{1,2}:\d\d [AP]M"
HERO_LINE = re.compile(
    rf"^Hero image done fal · {re.escape(IMAGE_MODEL)} · [A-Za-z0-9_-]{{12}}_hero\.png · "
    rf"\$0\.06 · api \d+\.\ds · {WHEN}$"
)


# -- driving the room -------------------------------------------------------------------------


async def propose(session: ConsoleSession, special: str = SEED_SPECIAL) -> str:
    out = await session.type(
        f'/propose {SEED_IDEA} pillar:structural_dread special:"{special}"', user="writer"
    )
    assert "@aiaaron · structural_dread" in out, out
    return out


async def propose_and_run(session: ConsoleSession, special: str = SEED_SPECIAL) -> None:
    await propose(session, special)
    out = await session.type("/run 1", user="writer")
    assert "⚠" not in out, out
    await session.settle()


async def post_cards(session: ConsoleSession) -> dict[int, str]:
    found = await posts.posts_of_run(session.app.room.deps.db.reader, 1)
    return {post.id: await session.type(f"/post {post.id}") for post in found}


async def formats_of(session: ConsoleSession) -> dict[int, str]:
    found = await posts.posts_of_run(session.app.room.deps.db.reader, 1)
    return {post.id: post.content_format for post in found}


async def run_steps(session: ConsoleSession) -> list[Step]:
    return await steps.steps_of_run(session.app.room.deps.db.reader, 1)


def assert_adds_up(card: str) -> None:
    """The step costs on a card add up to its total; unknown costs are counted, not summed."""
    total, unknown = card_total(card)
    costs = step_costs(card)
    assert sum(c for c in costs if c is not None) == total, card
    assert unknown == costs.count(None), card
