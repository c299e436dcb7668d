"""What each item step does: draft again, hero image, hero-text card, video script and clip.

A mixin of `Pipeline` (pipeline/runner.py), which owns the calls, the retries and the commits;
each step here only asks for what it needs and says what came of it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeline import drafting
from pipeline.media import MediaStore
from pipeline.personas import Personas
from pipeline.providers.base import MediaProvider, MediaRequest, MediaResult, ProviderError
from pipeline.render import render_hero_card
from pipeline.schemas import DraftBatch, DraftItem, VideoScript
from pipeline.structured import Structured
from storage import plans, posts, steps
from storage.db import Database
from storage.models import Post, Step

if TYPE_CHECKING:
    from pipeline.runner import Providers


@dataclass
class StepOutcome:
    provider: str
    model: str
    artifact: str | None = None
    cost_usd: float | None = 0.0
    latency_s: float | None = None
    output: dict[str, Any] | None = None


class ItemSteps:
    db: Database
    providers: Providers
    personas: Personas
    media: MediaStore
    aspect_ratios: dict[str, str]
    text_call: Callable[..., Awaitable[Any]]

    async def _media_call(
        self, step: Step, provider: MediaProvider, request: MediaRequest, slot: str
    ) -> MediaResult:
        raise NotImplementedError

    async def _store_draft(
        self, conn: Any, post_id: int, item: DraftItem, plan_text: str, *, new: bool = False
    ) -> None:
        raise NotImplementedError

    async def _step_draft(self, post: Post, step: Step) -> StepOutcome:
        """A redo of one item (regeneration or a note from its thread)."""
        revision = await plans.get_revision(self.db.reader, post.plan_id, post.plan_rev)
        assert revision is not None
        note = json.loads(step.input_json or "{}").get("note")
        request = drafting.draft_request(
            self.personas.persona(post.persona),
            revision.text,
            revision.angle,
            [post.content_format],
            seed=post.id * 7 + post.rev,
            note=note,
            previous=post.body,
        )
        result: Structured[DraftBatch] = await self.text_call(
            request, drafting.spec_problems([post.content_format]), step_id=step.id
        )
        async with self.db.transaction() as conn:
            await self._store_draft(conn, post.id, result.value.items[0], revision.text)
        return StepOutcome(result.provider, result.model, None, result.cost_usd, result.latency_s)

    async def _image(self, post: Post, step: Step, aspect_ratio: str, suffix: str) -> StepOutcome:
        provider = self.providers.images
        request = MediaRequest(
            kind="image",
            prompt=f"{post.headline}. Editorial illustration, no text. Mood: {post.pillar}.",
            aspect_ratio=aspect_ratio,
            headline=post.headline,
        )
        result = await self._media_call(step, provider, request, "image")
        name = await asyncio.to_thread(self.media.save, result.data, suffix, result.extension)
        return StepOutcome(
            result.provider, result.model, name, result.cost_usd, round(result.latency_s, 3)
        )

    async def _step_hero_image(self, post: Post, step: Step) -> StepOutcome:
        return await self._image(post, step, self.aspect_ratios[post.content_format], "hero")

    async def _step_poster_frame(self, post: Post, step: Step) -> StepOutcome:
        return await self._image(post, step, self.aspect_ratios["video"], "poster")

    async def _step_hero_card(self, post: Post, step: Step) -> StepOutcome:
        hero = await self._artifact_of(post, "hero_image")
        started = time.perf_counter()
        png = await asyncio.to_thread(
            render_hero_card,
            self.media.read(hero),
            post.headline,
            post.persona,
            self.aspect_ratios[post.content_format],
        )
        name = await asyncio.to_thread(self.media.save, png, "card", "png")
        return StepOutcome("local", "pillow", name, 0.0, round(time.perf_counter() - started, 3))

    async def _step_video_script(self, post: Post, step: Step) -> StepOutcome:
        persona = self.personas.persona(post.persona)
        request = drafting.script_request(persona, post.headline, post.body)
        result: Structured[VideoScript] = await self.text_call(request, step_id=step.id)
        async with self.db.transaction() as conn:
            await posts.set_video_script(conn, post.id, result.value.script)
        return StepOutcome(result.provider, result.model, None, result.cost_usd, result.latency_s)

    async def _step_video_clip(self, post: Post, step: Step) -> StepOutcome:
        provider = self.providers.video
        request = MediaRequest(
            kind="video",
            prompt=f"{post.headline}. {post.video_script[:800]}",
            aspect_ratio=self.aspect_ratios["video"],
            headline=post.headline,
        )
        result = await self._media_call(step, provider, request, "video")
        name = await asyncio.to_thread(self.media.save, result.data, "clip", result.extension)
        return StepOutcome(result.provider, result.model, name, result.cost_usd, result.latency_s)

    async def _artifact_of(self, post: Post, name: str) -> str:
        for step in await steps.steps_of_post(self.db.reader, post.id, post.rev):
            if step.name == name and step.artifact:
                return step.artifact
        raise ProviderError(f"the {name.replace('_', ' ')} step left no file to work from")
