"""What each item step does, and the most it may spend: the table `STEPS`, by step name.

`FORMATS` in pipeline/spec.py lists the steps of each format by name; each name has one entry
here. A step gets a `StepContext` (the item as it stands and what it may call) and says what
came of it in a `StepOutcome`; it stores nothing itself (its calls count their attempts and
commit a submitted request's handle). The runner records the outcome, with any text it carries,
in one write, so a step's result is committed whole or not at all. A new step is one function
and one entry; a new format, one entry in `FORMATS`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pipeline import drafting, fit
from pipeline.budget import Reservation
from pipeline.calls import PaidCalls, Providers
from pipeline.destinations.base import Destination
from pipeline.destinations.outlets import LEGACY_KINDS
from pipeline.media import MediaStore
from pipeline.personas import Persona, Personas
from pipeline.providers.base import (
    MediaProvider,
    MediaRequest,
    MediaResult,
    ProviderError,
    StepSkipped,
)
from pipeline.providers.local_video import LocalVideo
from pipeline.render import render_hero_card
from pipeline.schemas import DraftBatch, DraftItem, VideoScript
from pipeline.spec import FIT_STEP
from pipeline.structured import Structured
from storage.models import PlanRevision, Post, Step


@dataclass(frozen=True)
class StepContext:
    post: Post  # as it stands when the step starts: an earlier step may have changed its text
    step: Step
    revision: PlanRevision  # the plan revision the item is drafted from
    artifacts: Mapping[str, str]  # files the item's earlier steps left, by step name
    reservation: Reservation  # every call of the step draws on it; the runner settles it
    calls: PaidCalls
    personas: Personas
    media: MediaStore
    aspect_ratios: Mapping[str, str]  # by format name
    networks: tuple[Destination, ...] = ()  # the persona's social networks (fit_caption)


@dataclass(frozen=True)
class StepOutcome:
    provider: str
    model: str
    artifact: str | None = None
    cost_usd: float | None = 0.0  # None: the provider did not say (unknown, not free)
    latency_s: float | None = None
    status: Literal["done", "skipped"] = "done"
    reason: str | None = None  # why it was skipped
    # Text for the post, stored in the write that records the outcome.
    draft: DraftItem | None = None
    video_script: str | None = None
    # The caption rewritten for each network it did not fit, by destination kind.
    variants: Mapping[str, str] | None = None
    # The step's output_json: a clip's `poster`, the still saved beside it in the media folder.
    output: dict[str, Any] | None = None


# What a step may spend at most, from what is known before the run: the plan revision.
Estimate = Callable[[Providers, Persona, PlanRevision], float]


@dataclass(frozen=True)
class StepKind:
    run: Callable[[StepContext], Awaitable[StepOutcome]]
    most_it_may_spend: Estimate


# -- text steps ---------------------------------------------------------------------------------


async def redraft(ctx: StepContext) -> StepOutcome:
    """A redo of one item (regeneration or a note from its thread). A run's first drafts are
    written as one batch instead (pipeline/batch.py)."""
    post = ctx.post
    note = json.loads(ctx.step.input_json or "{}").get("note")
    request = drafting.draft_request(
        ctx.personas.persona(post.persona),
        ctx.revision.text,
        ctx.revision.angle,
        [post.content_format],
        seed=post.id * 7 + post.rev,
        note=note,
        previous=post.body,
    )
    result: Structured[DraftBatch] = await ctx.calls.text_call(
        request, drafting.spec_problems([post.content_format]), reservation=ctx.reservation
    )
    return StepOutcome(
        result.provider,
        result.model,
        cost_usd=result.cost_usd,
        latency_s=result.latency_s,
        draft=result.value.items[0],
    )


async def video_script(ctx: StepContext) -> StepOutcome:
    persona = ctx.personas.persona(ctx.post.persona)
    request = drafting.script_request(persona, ctx.post.headline, ctx.post.body)
    result: Structured[VideoScript] = await ctx.calls.text_call(
        request, reservation=ctx.reservation
    )
    return StepOutcome(
        result.provider,
        result.model,
        cost_usd=result.cost_usd,
        latency_s=result.latency_s,
        video_script=result.value.script,
    )


# The longest body a script is written from: a draft's 1200 tokens at 6 bytes each.
_LONGEST_BODY_BYTES = 1200 * 6


def _most_a_script_may_spend(providers: Providers, person: Persona, _: PlanRevision) -> float:
    longest = drafting.script_request(person, "h" * 90, "b" * _LONGEST_BODY_BYTES)
    return providers.text.estimate_cost(longest)


async def fit_caption(ctx: StepContext) -> StepOutcome:
    persona = ctx.personas.persona(ctx.post.persona)
    fitted = await fit.fit_caption(
        ctx.post.caption, persona, ctx.networks, ctx.calls, ctx.reservation
    )
    return StepOutcome(
        fitted.provider,
        fitted.model,
        cost_usd=fitted.cost_usd,
        latency_s=fitted.latency_s,
        variants=fitted.variants,
    )


def _most_a_fit_may_spend(providers: Providers, person: Persona, _: PlanRevision) -> float:
    networks = sum(1 for d in person.destinations if d.kind not in LEGACY_KINDS)
    estimate = providers.text.estimate_cost(fit.largest_request(person))
    return fit.most_a_fit_may_spend(estimate, networks)


# -- media steps --------------------------------------------------------------------------------


async def _media(
    ctx: StepContext, provider: MediaProvider, request: MediaRequest, suffix: str
) -> StepOutcome:
    try:
        result = await ctx.calls.media_call(
            ctx.step, ctx.reservation, provider, request, slot=request.kind
        )
    except StepSkipped as skip:
        return StepOutcome(
            provider.name, provider.model, cost_usd=None, status="skipped", reason=skip.reason
        )
    return await _stored(ctx, result, suffix)


async def _stored(ctx: StepContext, result: MediaResult, suffix: str) -> StepOutcome:
    name = await asyncio.to_thread(ctx.media.save, result.data, suffix, result.extension)
    output = None
    if result.poster is not None:
        poster = await asyncio.to_thread(ctx.media.save, result.poster, f"{suffix}-poster", "png")
        output = {"poster": poster}
    latency = round(result.latency_s, 3)
    return StepOutcome(result.provider, result.model, name, result.cost_usd, latency, output=output)


def _image_request(post: Post, aspect_ratio: str) -> MediaRequest:
    return MediaRequest(
        kind="image",
        prompt=f"{post.headline}. Editorial illustration, no text. Mood: {post.pillar}.",
        aspect_ratio=aspect_ratio,
        headline=post.headline,
    )


async def hero_image(ctx: StepContext) -> StepOutcome:
    request = _image_request(ctx.post, ctx.aspect_ratios[ctx.post.content_format])
    return await _media(ctx, ctx.calls.providers.images, request, "hero")


async def poster_frame(ctx: StepContext) -> StepOutcome:
    request = _image_request(ctx.post, ctx.aspect_ratios["video"])
    return await _media(ctx, ctx.calls.providers.images, request, "poster")


async def video_clip(ctx: StepContext) -> StepOutcome:
    poster = ctx.artifacts.get("poster_frame")
    request = MediaRequest(
        kind="video",
        prompt=f"{ctx.post.headline}. {ctx.post.video_script[:800]}",
        aspect_ratio=ctx.aspect_ratios["video"],
        headline=ctx.post.headline,
        script=ctx.post.video_script,
        handle=ctx.post.persona,
        background=str(ctx.media.path(poster)) if poster else None,
    )
    provider = ctx.calls.providers.video
    if isinstance(provider, LocalVideo):
        # Drawn here, like the hero-text card: CPU work in a thread, one per core at once, and
        # not a wait on a provider (no step timeout to retry it under: a thread cannot be
        # stopped, so a retry would only draw the same clip twice at once).
        async with ctx.calls.render_slots:
            return await _stored(ctx, await provider.render(request), "clip")
    return await _media(ctx, provider, request, "clip")


def _most_an_image_may_spend(providers: Providers, _: Persona, revision: PlanRevision) -> float:
    return providers.images.estimate_cost(MediaRequest(kind="image", prompt=revision.angle[:500]))


def _most_a_clip_may_spend(providers: Providers, _: Persona, revision: PlanRevision) -> float:
    return providers.video.estimate_cost(MediaRequest(kind="video", prompt=revision.angle[:500]))


# -- local steps --------------------------------------------------------------------------------


async def hero_card(ctx: StepContext) -> StepOutcome:
    hero = ctx.artifacts.get("hero_image")
    if hero is None:
        raise ProviderError("the hero image step left no file to work from")
    started = time.perf_counter()
    async with ctx.calls.render_slots:
        png = await asyncio.to_thread(
            render_hero_card,
            ctx.media.read(hero),
            ctx.post.headline,
            ctx.post.persona,
            ctx.aspect_ratios[ctx.post.content_format],
        )
    name = await asyncio.to_thread(ctx.media.save, png, "card", "png")
    return StepOutcome("local", "pillow", name, 0.0, round(time.perf_counter() - started, 3))


def _free(*_: object) -> float:
    return 0.0


STEPS: dict[str, StepKind] = {
    # In a run, the batch's draft is paid for by the run's own estimate; on its own, an item's
    # redraft is estimated from its request (Pipeline.estimate_revision).
    "draft": StepKind(redraft, _free),
    # Only for a persona that publishes to a network; the runner adds it to such items.
    FIT_STEP: StepKind(fit_caption, _most_a_fit_may_spend),
    "hero_image": StepKind(hero_image, _most_an_image_may_spend),
    "hero_card": StepKind(hero_card, _free),
    "video_script": StepKind(video_script, _most_a_script_may_spend),
    "poster_frame": StepKind(poster_frame, _most_an_image_may_spend),
    "video_clip": StepKind(video_clip, _most_a_clip_may_spend),
}
