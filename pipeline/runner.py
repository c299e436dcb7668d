"""Runs: draft the batch, then take every item through its steps, durably.

Every step's result is committed before the next step starts. A run picked up again after a
crash skips finished steps (paid calls are never repeated) and fetches a provider request that
was already submitted (its handle is committed before waiting) instead of submitting anew.
The calls themselves are in pipeline/calls.py, the budget estimates in pipeline/estimates.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pipeline import drafting
from pipeline.budget import Budget, BudgetExceeded, Reservation
from pipeline.calls import PaidCalls
from pipeline.estimates import Estimates
from pipeline.item_steps import ItemSteps, StepOutcome
from pipeline.media import MediaStore
from pipeline.personas import Persona, Personas
from pipeline.providers.base import (
    MediaProvider,
    ProviderError,
    StepSkipped,
    TextProvider,
)
from pipeline.retry import CoolDown, RetryPolicy
from pipeline.schemas import DraftBatch, DraftItem
from pipeline.spec import FORMATS, ItemSpec
from pipeline.structured import Structured
from storage import plans, posts, steps
from storage.db import Database
from storage.models import Post, Step


class RunObserver(Protocol):
    """What the chat side hears about a run. Called outside any transaction."""

    async def run_progress(self, run_id: int) -> None: ...

    async def item_finished(self, post_id: int) -> None: ...

    async def run_finished(self, run_id: int) -> None: ...


class _Silent:
    async def run_progress(self, run_id: int) -> None:
        return None

    async def item_finished(self, post_id: int) -> None:
        return None

    async def run_finished(self, run_id: int) -> None:
        return None


@dataclass(frozen=True)
class Providers:
    text: TextProvider
    images: MediaProvider
    video: MediaProvider


@dataclass(frozen=True)
class Limits:
    text: int = 4
    image: int = 4
    video: int = 2


class Pipeline(PaidCalls, Estimates, ItemSteps):
    def __init__(
        self,
        db: Database,
        providers: Providers,
        personas: Personas,
        media: MediaStore,
        budget: Budget,
        *,
        retry: RetryPolicy,
        limits: Limits,
        aspect_ratios: dict[str, str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.providers = providers
        self.personas = personas
        self.media = media
        self.budget = budget
        self.retry = retry
        self.clock = clock
        self.observer: RunObserver = _Silent()
        self.aspect_ratios = {name: fmt.aspect_ratio for name, fmt in FORMATS.items()} | (
            aspect_ratios or {}
        )
        self._slots = {
            "text": asyncio.Semaphore(limits.text),
            "image": asyncio.Semaphore(limits.image),
            "video": asyncio.Semaphore(limits.video),
        }
        self._cool_downs: dict[str, CoolDown] = {}  # by provider name
        self._calls: dict[int, Reservation] = {}  # by step id: the run steps being done

    # -- runs --------------------------------------------------------------------------------

    async def execute_run(self, run_id: int) -> None:
        run = await plans.get_run(self.db.reader, run_id)
        if run is None:
            return
        revision = await plans.get_revision(self.db.reader, run.plan_id, run.plan_rev)
        plan = await plans.get_plan(self.db.reader, run.plan_id)
        assert revision is not None and plan is not None
        try:
            if not await posts.posts_of_run(self.db.reader, run_id):
                await self._draft_batch(run_id, plan.persona, plan.pillar, revision)
            items = await posts.posts_of_run(self.db.reader, run_id)
            await asyncio.gather(*(self._advance(p) for p in items if p.status == "drafting"))
        except (ProviderError, BudgetExceeded) as exc:
            async with self.db.transaction() as conn:
                await plans.set_run_status(conn, run_id, "failed", now=self.clock(), error=str(exc))
        else:
            async with self.db.transaction() as conn:
                await plans.set_run_status(conn, run_id, "done", now=self.clock())
        await self.observer.run_finished(run_id)

    async def _draft_batch(
        self, run_id: int, persona_handle: str, pillar: str, revision: Any
    ) -> None:
        persona = self.personas.persona(persona_handle)
        spec = ItemSpec.from_json(revision.spec_json)
        formats = spec.formats()
        request = drafting.draft_request(
            persona, revision.text, revision.angle, formats, seed=run_id
        )
        claim = Reservation(run_id=run_id)
        try:
            result: Structured[DraftBatch] = await self.text_call(
                request, drafting.spec_problems(formats), reservation=claim
            )
            await self.observer.run_progress(run_id)
            await self._store_batch(run_id, pillar, revision, persona, result, formats, claim)
        except BaseException:  # stored drafts settle it; anything else releases it
            await asyncio.shield(self.budget.release(self.db, claim))
            raise

    async def _store_batch(
        self,
        run_id: int,
        pillar: str,
        revision: Any,
        persona: Persona,
        result: Structured[DraftBatch],
        formats: list[str],
        claim: Reservation,
    ) -> None:
        chosen = [result.value.items[i] for i in drafting.match_to_formats(result.value, formats)]
        shares = _split_cost(result.cost_usd, len(chosen))
        now = self.clock()
        async with self.db.transaction() as conn:
            await self.budget.settle(conn, claim)
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
                await self._store_draft(conn, post_id, item, revision.text, new=True)
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

    async def _store_draft(
        self, conn: Any, post_id: int, item: DraftItem, plan_text: str, *, new: bool = False
    ) -> None:
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

    async def _advance(self, post: Post) -> None:
        for step in await steps.steps_of_post(self.db.reader, post.id, post.rev):
            if step.finished:
                continue
            current = await posts.get_post(self.db.reader, post.id)
            assert current is not None
            error = await self._do_step(current, step)
            await self.observer.run_progress(post.run_id)
            if error is not None:
                async with self.db.transaction() as conn:
                    await posts.set_status(conn, post.id, "failed", now=self.clock(), error=error)
                await self.observer.item_finished(post.id)
                return
        async with self.db.transaction() as conn:
            await posts.set_status(conn, post.id, "awaiting_approval", now=self.clock())
        await self.observer.item_finished(post.id)

    async def _do_step(self, post: Post, step: Step) -> str | None:
        """Run one step and commit its result; return an error message if it failed. The
        step's calls share one reservation, settled in the transaction that records the cost."""
        claim = self._calls[step.id] = Reservation(run_id=post.run_id, step_id=step.id)
        try:
            return await self._do_step_with(post, step, claim)
        except BaseException:  # each outcome settles it as it is recorded; anything else releases
            await asyncio.shield(self.budget.release(self.db, claim))
            raise
        finally:
            del self._calls[step.id]

    async def _do_step_with(self, post: Post, step: Step, claim: Reservation) -> str | None:
        work: Callable[[Post, Step], Awaitable[StepOutcome]] = getattr(self, f"_step_{step.name}")
        try:
            outcome = await work(post, step)
        except StepSkipped as skip:
            async with self.db.transaction() as conn:
                await steps.finish_step(
                    conn,
                    step.id,
                    status="skipped",
                    now=self.clock(),
                    provider=self.providers.video.name,
                    model=self.providers.video.model,
                    error=skip.reason,
                )
                await self.budget.settle(conn, claim)
            return None
        except (ProviderError, BudgetExceeded) as exc:
            message = exc.message if isinstance(exc, ProviderError) else str(exc)
            async with self.db.transaction() as conn:
                await steps.finish_step(
                    conn,
                    step.id,
                    status="failed",
                    now=self.clock(),
                    error=message,
                    cost_usd=claim.reported_usd or None,  # a first round may have been paid
                )
                await self.budget.settle(conn, claim)
            return f"{step.name.replace('_', ' ')} failed: {message}"
        async with self.db.transaction() as conn:
            await steps.finish_step(
                conn,
                step.id,
                status="done",
                now=self.clock(),
                provider=outcome.provider,
                model=outcome.model,
                artifact=outcome.artifact,
                cost_usd=outcome.cost_usd,
                latency_s=outcome.latency_s,
                output=outcome.output,
            )
            await self.budget.settle(conn, claim)
        return None


def _split_cost(total: float | None, parts: int) -> list[float | None]:
    """Split a batch call's cost over its items so that the shares add up to the total."""
    if total is None:
        return [None] * parts
    share = round(total / parts, 6)
    shares: list[float | None] = [share] * (parts - 1)
    return [*shares, round(total - share * (parts - 1), 6)]
