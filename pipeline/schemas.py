"""What the pipeline asks models for. Each answer is parsed and validated with these models."""

from __future__ import annotations

from pydantic import BaseModel, Field


class PlanText(BaseModel):
    """A plan: the angle the drafter writes from, and why it is worth running now."""

    angle: str = Field(min_length=20, max_length=4000)
    rationale: str = Field(min_length=10, max_length=2000)


class Refinement(PlanText):
    change_summary: str = Field(min_length=3, max_length=600)


class DraftItem(BaseModel):
    content_format: str
    headline: str = Field(min_length=3, max_length=140)
    body: str = Field(min_length=20, max_length=6000)
    caption: str = Field(min_length=3, max_length=500)


class DraftBatch(BaseModel):
    items: list[DraftItem]


class VideoScript(BaseModel):
    script: str = Field(min_length=10, max_length=4000)


class Answer(BaseModel):
    answer: str = Field(min_length=1, max_length=3000)
    post_ids: list[int] = Field(default_factory=list)
