"""Runs: draft the batch, then take every item through its steps, durably.

Each step's result is recorded in one write (its row, its cost settled with the budget, the
text it wrote, and the item's status when it was the item's last step), committed before the
next step starts. A run picked up again after a crash skips finished steps (paid calls are
never repeated) and fetches a provider request that was already submitted (its handle is
committed before waiting) instead of submitting anew. What each step does is the table in
pipeline/item_steps.py; the calls are in pipeline/calls.py, the first drafts in
pipeline/batch.py, the budget estimates in pipeline/estimates.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

from pipeline import batch, estimates
from pipeline.budget import Budget, BudgetExceeded, Reservation
from pipeline.calls import Limits, PaidCalls, Providers
from pipeline.destinations.base import Destination
from pipeline.destinations.outlets import Outlets
from pipeline.item_steps import STEPS, StepContext, StepOutcome
from pipeline.media import MediaStore
from pipeline.personas import Personas
from pipeline.providers.base import ProviderError, TextRequest
from pipeline.retry import RetryPolicy
from pipeline.spec import FIT_STEP, FORMATS, ItemSpec
from pipeline.structured import Check, M, Structured
from storage import plans, posts, steps, variants
from storage.db import Database
from storage.models import PlanRevision, Post

__all__ = ["Limits", "Pipeline", "Providers", "RunObserver", "SilentObserver"]


class RunObserver(Protocol):
    """What the chat side hears about a run. Called outside any transaction."""

    async def run_progress(self, run_id: int) -> None: ...

    async def item_finished(self, post_id: int) -> None: ...

    async def run_finished(self, run_id: int) -> None: ...


class SilentObserver:
    async def run_progress(self, run_id: int) -> None:
        return None

    async def item_finished(self, post_id: int) -> None:
        return None

    async def run_finished(self, run_id: int) -> None:
        return None


class Pipeline:
    """Runs, and what commands ask of the pipeline before one: estimates and text calls.
    Built once; what it is given does not change afterwards. Who hears a run (the chat side)
    is given to `execute_run`: the pipeline is built before the room that listens."""

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
        observer: RunObserver | None = None,
        outlets: Outlets | None = None,
    ) -> None:
        """`outlets`: where each persona publishes; an item of a persona with a social network
        among them has its caption fitted to each (pipeline/fit.py) before it can be approved."""
        self.db = db
        self.providers = providers
        self.personas = personas
        self.media = media
        self.budget = budget
        self.clock = clock
        self.calls = PaidCalls(db, providers, budget, retry=retry, limits=limits, clock=clock)
        self._drafter = batch.BatchDrafter(self.calls, personas, clock)
        self.aspect_ratios = {name: fmt.aspect_ratio for name, fmt in FORMATS.items()} | (
            aspect_ratios or {}
        )
        self._observer: RunObserver = observer or SilentObserver()
        self._outlets = outlets

    async def networks_of(self, persona: str, workspace: str | None) -> tuple[Destination, ...]:
        """The persona's social networks from `workspace` (not the install's webhook or
        outbox)."""
        if self._outlets is None:
            return ()
        found = await self._outlets.of_workspace(persona, workspace)
        return tuple(o.network for o in found if o.network is not None)

    async def _most_fitting_may_spend(
        self, persona: str, workspace: str | None, revision: PlanRevision
    ) -> float:
        """One item's fit step, when the persona has a network to fit."""
        if not await self.networks_of(persona, workspace):
            return 0.0
        person = self.personas.persona(persona)
        return STEPS[FIT_STEP].most_it_may_spend(self.providers, person, revision)

    # -- what handlers call ------------------------------------------------------------------

    async def text_call(
        self, request: TextRequest, check: Check[M] | None = None, *, reservation: Reservation
    ) -> Structured[M]:
        """A command's text call, on the reservation taken with the rows the command wrote."""
        return await self.calls.text_call(request, check, reservation=reservation)

    async def estimate_run(
        self, persona: str, revision: PlanRevision, workspace: str | None = None
    ) -> float:
        """An upper bound of what a run of this plan revision may spend, for the budget."""
        person = self.personas.persona(persona)
        items = len(ItemSpec.from_json(revision.spec_json).formats())
        fitting = items * await self._most_fitting_may_spend(persona, workspace, revision)
        return round(estimates.most_a_run_may_spend(self.providers, person, revision) + fitting, 6)

    async def estimate_revision(self, post: Post, note: str | None) -> float:
        """What a new revision of `post` may spend: its draft again, then its other steps."""
        revision = await plans.get_revision(self.db.reader, post.plan_id, post.plan_rev)
        plan = await plans.get_plan(self.db.reader, post.plan_id)
        assert revision is not None and plan is not None
        person = self.personas.persona(post.persona)
        redraft = estimates.most_a_revision_may_spend(self.providers, person, revision, post, note)
        fitting = await self._most_fitting_may_spend(post.persona, plan.workspace, revision)
        return round(redraft + fitting, 6)

    # -- runs --------------------------------------------------------------------------------

    async def execute_run(self, run_id: int, observer: RunObserver | None = None) -> None:
        """Run (or resume) a run; `observer` hears it move on (else the one given when built)."""
        heard = observer or self._observer
        run = await plans.get_run(self.db.reader, run_id)
        if run is None:
            return
        revision = await plans.get_revision(self.db.reader, run.plan_id, run.plan_rev)
        plan = await plans.get_plan(self.db.reader, run.plan_id)
        assert revision is not None and plan is not None
        try:
            if not await posts.posts_of_run(self.db.reader, run_id):
                await self._drafter.draft(run_id, plan.persona, plan.pillar, revision)
                await heard.run_progress(run_id)
            items = await posts.posts_of_run(self.db.reader, run_id)
            await asyncio.gather(
                *(
                    self._advance(p, revision, heard, plan.workspace)
                    for p in items
                    if p.status == "drafting"
                )
            )
        except (ProviderError, BudgetExceeded) as exc:
            async with self.db.transaction() as conn:
                await plans.set_run_status(conn, run_id, "failed", now=self.clock(), error=str(exc))
        else:
            async with self.db.transaction() as conn:
                await plans.set_run_status(conn, run_id, "done", now=self.clock())
        await heard.run_finished(run_id)

    async def _advance(
        self, post: Post, revision: PlanRevision, heard: RunObserver, workspace: str | None
    ) -> None:
        """Take one item through its unfinished steps, in order, until one fails."""
        networks = await self.networks_of(post.persona, workspace)
        its_steps = await steps.steps_of_post(self.db.reader, post.id, post.rev)
        if networks and all(s.name != FIT_STEP for s in its_steps):
            await self._add_fit_step(post)
            its_steps = await steps.steps_of_post(self.db.reader, post.id, post.rev)
        artifacts = {s.name: s.artifact for s in its_steps if s.finished and s.artifact}
        pending = [s for s in its_steps if not s.finished]
        if not pending:  # every step finished before a restart: only the status is left
            async with self.db.transaction() as conn:
                await posts.set_status(conn, post.id, "awaiting_approval", now=self.clock())
        for step in pending:
            current = await posts.get_post(self.db.reader, post.id)
            assert current is not None
            ctx = StepContext(
                post=current,
                step=step,
                revision=revision,
                artifacts=dict(artifacts),
                reservation=Reservation(run_id=post.run_id, step_id=step.id),
                calls=self.calls,
                personas=self.personas,
                media=self.media,
                aspect_ratios=self.aspect_ratios,
                networks=networks,
            )
            outcome = await self._do_step(ctx, last=step is pending[-1])
            await heard.run_progress(post.run_id)
            if outcome is None:  # failed; the item says why
                break
            if outcome.artifact:
                artifacts[step.name] = outcome.artifact
        await heard.item_finished(post.id)

    async def _add_fit_step(self, post: Post) -> None:
        """The fit step right after the draft, unless the revision has it. Added here rather
        than where the steps are made (a run's batch, a new revision), so both get it, and an
        item drafted before its persona had a network gets it when it resumes."""
        async with self.db.transaction() as conn:
            await variants.add_step_after(
                conn,
                post_id=post.id,
                rev=post.rev,
                run_id=post.run_id,
                after="draft",
                name=FIT_STEP,
            )

    async def _do_step(self, ctx: StepContext, *, last: bool) -> StepOutcome | None:
        """Run one step and record what came of it; None if it failed. The step's calls share
        one reservation, settled in the write that records the step."""
        try:
            try:
                outcome = await STEPS[ctx.step.name].run(ctx)
            except (ProviderError, BudgetExceeded) as exc:
                await self._record_failure(ctx, _reason(exc))
                return None
            await self._record(ctx, outcome, last=last)
            return outcome
        except BaseException:  # each outcome settles it as it is recorded; anything else releases
            await asyncio.shield(self.budget.release(self.db, ctx.reservation))
            raise

    async def _record(self, ctx: StepContext, outcome: StepOutcome, *, last: bool) -> None:
        """The step's result, the text it wrote and, after the item's last step, the item's
        new status: one write."""
        post_id, now = ctx.post.id, self.clock()
        async with self.db.transaction() as conn:
            if outcome.draft is not None:
                await batch.store_draft(conn, post_id, outcome.draft, ctx.revision.text)
            if outcome.video_script is not None:
                await posts.set_video_script(conn, post_id, outcome.video_script)
            if outcome.variants:
                await variants.store_variants(
                    conn, post_id, ctx.post.rev, outcome.variants, now=now
                )
            await steps.finish_step(
                conn,
                ctx.step.id,
                status=outcome.status,
                now=now,
                provider=outcome.provider,
                model=outcome.model,
                artifact=outcome.artifact,
                cost_usd=outcome.cost_usd,
                latency_s=outcome.latency_s,
                error=outcome.reason,
                output=outcome.output,
            )
            await self.budget.settle(conn, ctx.reservation)
            if last:
                await posts.set_status(conn, post_id, "awaiting_approval", now=now)

    async def _record_failure(self, ctx: StepContext, message: str) -> None:
        """The failed step, what its finished requests cost, and the item failed: one write."""
        step, now = ctx.step, self.clock()
        async with self.db.transaction() as conn:
            await steps.finish_step(
                conn,
                step.id,
                status="failed",
                now=now,
                error=message,
                cost_usd=ctx.reservation.reported_usd or None,  # a first round may have been paid
            )
            await self.budget.settle(conn, ctx.reservation)
            error = f"{step.name.replace('_', ' ')} failed: {message}"
            await posts.set_status(conn, ctx.post.id, "failed", now=now, error=error)


def _reason(exc: ProviderError | BudgetExceeded) -> str:
    return exc.message if isinstance(exc, ProviderError) else str(exc)
