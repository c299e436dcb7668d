"""A run's first drafts: one call writes every item of the batch, and one write stores them.

The batch call is paid for once, so its cost is split over the items' draft steps; the items,
their draft steps (done) and their other steps (queued) are created in the transaction that
settles the call's reservation, so a crash leaves either the whole batch or none of it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from pipeline import drafting
from pipeline.budget import Reservation
from pipeline.calls import PaidCalls
from pipeline.personas import Persona, Personas
from pipeline.schemas import DraftBatch, DraftItem
from pipeline.spec import FORMATS, ItemSpec
from pipeline.structured import Structured
from storage import posts, steps
from storage.db import Connection
from storage.models import PlanRevision


async def store_draft(
    conn: Connection, post_id: int, item: DraftItem, plan_text: str, *, new: bool = False
) -> None:
    """An item's text, in place of what it had (a new draft has no video script yet)."""
    await posts.set_content(
        conn,
        post_id,
        new=new,
        headline=item.headline,
        body=item.body,
        caption=item.caption,
        video_script="",
        plan_text=plan_text,
    )


@dataclass(frozen=True)
class BatchDrafter:
    calls: PaidCalls
    personas: Personas
    clock: Callable[[], float]

    async def draft(
        self, run_id: int, persona_handle: str, pillar: str, revision: PlanRevision
    ) -> None:
        persona = self.personas.persona(persona_handle)
        formats = ItemSpec.from_json(revision.spec_json).formats()
        request = drafting.draft_request(
            persona, revision.text, revision.angle, formats, seed=run_id
        )
        claim = Reservation(run_id=run_id)
        try:
            result: Structured[DraftBatch] = await self.calls.text_call(
                request, drafting.spec_problems(formats), reservation=claim
            )
            await self._store(run_id, pillar, revision, persona, result, formats, claim)
        except BaseException:  # stored drafts settle it; anything else releases it
            await asyncio.shield(self.calls.budget.release(self.calls.db, claim))
            raise

    async def _store(
        self,
        run_id: int,
        pillar: str,
        revision: PlanRevision,
        persona: Persona,
        result: Structured[DraftBatch],
        formats: list[str],
        claim: Reservation,
    ) -> None:
        chosen = [result.value.items[i] for i in drafting.match_to_formats(result.value, formats)]
        shares = split_cost(result.cost_usd, len(chosen))
        now = self.clock()
        async with self.calls.db.transaction() as conn:
            await self.calls.budget.settle(conn, claim)
            for index, (item, share) in enumerate(zip(chosen, shares, strict=True)):
                post_id = await posts.create_post(
                    conn,
                    run_id=run_id,
                    plan_id=revision.plan_id,
                    plan_rev=revision.rev,
                    item_index=index,
                    persona=persona.handle,
                    pillar=pillar,
                    content_format=item.content_format,
                    now=now,
                )
                await store_draft(conn, post_id, item, revision.text, new=True)
                await steps.add_done_step(
                    conn,
                    name="draft",
                    run_id=run_id,
                    post_id=post_id,
                    started_at=now - result.latency_s,
                    ended_at=now,
                    attempts=result.attempts,
                    provider=result.provider,
                    model=result.model,
                    cost_usd=share,
                    latency_s=result.latency_s,
                )
                for position, name in enumerate(FORMATS[item.content_format].steps[1:], 1):
                    await steps.add_step(
                        conn,
                        name=name,
                        position=position,
                        run_id=run_id,
                        post_id=post_id,
                        post_rev=1,
                    )


def split_cost(total: float | None, parts: int) -> list[float | None]:
    """Split a batch call's cost over its items so that the shares add up to the total."""
    if total is None:
        return [None] * parts
    share = round(total / parts, 6)
    shares: list[float | None] = [share] * (parts - 1)
    return [*shares, round(total - share * (parts - 1), 6)]
