"""Helpers for running the whole room against the fake provider servers.

`ScriptedModel` is a `reply_fn` for FakeOpenAI and FakeAnthropic: it answers every structured
request the pipeline makes (PlanText, Refinement, DraftBatch, VideoScript, Answer) with valid
JSON, chosen by the schema title the provider put in its system message, and it can be told to
get the item count wrong, report `usage.cost`, or leave usage out. `provider_settings` points a
room at the fakes. The card helpers read the `/post` output the console printed.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.settings import Settings
from tests.fakes.fal import FakeFal
from tests.fakes.providers import ChatCall, FakeAnthropic, FakeOpenAI, Handler, Reply
from tests.support import make_settings

TEXT_MODEL = "draft-model-test"
PRICE_INPUT = 10.0  # USD per million tokens, set through LLM_PRICE_INPUT_PER_MTOK
PRICE_OUTPUT = 40.0
IMAGE_MODEL = "fal-ai/flux-pro/v1.1-ultra"
VIDEO_MODEL = "fal-ai/fake-video/text-to-video"
VIDEO_PRICE = 0.40

MONEY = re.compile(r"\$(\d+\.\d\d)")
TOTAL = re.compile(r"\$(\d+\.\d\d) total(?: \(\+(\d+) unknown\))?")


class ScriptedModel:
    """Answers each schema with valid JSON; by default 2000 + 2000 tokens per call, which at the
    test prices (10 and 40 USD per million) is exactly $0.10 a call."""

    def __init__(self, *, prompt_tokens: int = 2000, completion_tokens: int = 2000) -> None:
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        self.short_batches = 0  # the next N DraftBatch answers leave out their last item
        self.without_usage: set[str] = set()  # schema titles answered without `usage`
        self.costs: dict[str, float] = {}  # schema title -> OpenRouter-style usage.cost
        self.asked: Counter[str] = Counter()

    def __call__(self, call: ChatCall) -> Reply:
        title = call.schema_title or "unknown"
        self.asked[title] += 1
        data = call.data if isinstance(call.data, dict) else {}
        return Reply(
            json.dumps(self.answer(title, data)),
            usage=title not in self.without_usage,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            cost=self.costs.get(title),
        )

    def answer(self, title: str, data: dict[str, Any]) -> dict[str, Any]:
        if title == "PlanText":
            return plan_answer(data)
        if title == "Refinement":
            return {
                "angle": f"{data['angle']}\n\nRevised: {data['note']}",
                "rationale": str(data["rationale"]),
                "change_summary": "folded in the note",
            }
        if title == "DraftBatch":
            items = batch_items(data)
            if self.short_batches > 0:
                self.short_batches -= 1
                items = items[:-1]
            return {"items": items}
        if title == "VideoScript":
            return {
                "script": f"Shot 1 (0-4s): {data['headline']}\nShot 2 (4-8s): the gap.\n"
                "End card: it is not nothing, it is not a commitment."
            }
        if title == "Answer":
            posts = data.get("posts") or []
            return {
                "answer": "From the library: " + "; ".join(p["headline"] for p in posts[:2]),
                "post_ids": [int(p["id"]) for p in posts[:2]],
            }
        raise AssertionError(f"the pipeline asked for an unexpected schema {title!r}")


def plan_answer(data: dict[str, Any]) -> dict[str, Any]:
    idea = " ".join(str(data.get("idea", "")).split())[:200]
    return {
        "angle": f"{idea}. Say who grades the thresholds and what a model card is evidence of. "
        "Button: it is not nothing, it is not a commitment.",
        "rationale": f"{data.get('pillar', 'this')} pillar, no close recent post. "
        "Different enough to run.",
    }


def batch_items(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Exactly the formats asked in the data's `formats`, in order."""
    formats = [str(f) for f in data.get("formats", [])]
    tags = " ".join(data.get("hashtags", []))
    return [
        {
            "content_format": content_format,
            "headline": f"Draft {index} of {len(formats)}: the benchmark is the safety case",
            "body": "Labs grade their own capability thresholds.\n\n"
            "The press reads the model card as capability evidence. Nobody else checks.",
            "caption": f"Who grades the grader? {tags}".strip(),
        }
        for index, content_format in enumerate(formats, 1)
    ]


@dataclass
class Arrival:
    at: float
    path: str
    status: int = 0
    answered_at: float = 0.0


class TimedOpenAI(FakeOpenAI):
    """FakeOpenAI that notes when each request arrived and when it was answered."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.arrivals: list[Arrival] = []

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        arrival = Arrival(time.monotonic(), request.path)
        self.arrivals.append(arrival)
        response = await super()._middleware(request, handler)
        arrival.status, arrival.answered_at = response.status, time.monotonic()
        return response


class StuckFal(FakeFal):
    """FakeFal whose status endpoint never answers for jobs whose prompt starts with one of
    `stuck_prompts` (a hung provider for those items only); other jobs go through."""

    def __init__(self, *, stuck_prompts: tuple[str, ...] = (), **options: Any) -> None:
        super().__init__(**options)
        self.stuck_prompts = stuck_prompts
        self.stuck_polls = 0

    def stuck(self, job_id: str) -> bool:
        job = self.jobs.get(job_id)
        return job is not None and str(job.input.get("prompt", "")).startswith(self.stuck_prompts)

    async def _status(self, request: web.Request) -> web.Response:
        if self.stuck(request.match_info["request_id"]):
            self.stuck_polls += 1
            await self._release.wait()
            return web.Response(status=503)
        return await super()._status(request)


def provider_settings(
    tmp_path: Path,
    *,
    text: FakeOpenAI | FakeAnthropic | None = None,
    fal: FakeFal | None = None,
    **env: Any,
) -> Settings:
    """Settings for a room whose text and media providers are the given fakes."""
    values: dict[str, Any] = {}
    if text is not None:
        values |= {
            "LLM_PROVIDER": "anthropic" if isinstance(text, FakeAnthropic) else "openai",
            "LLM_BASE_URL": text.base_url,
            "LLM_API_KEY": text.api_key or "sk-unused",
            "LLM_MODEL": TEXT_MODEL,
            "LLM_PRICE_INPUT_PER_MTOK": PRICE_INPUT,
            "LLM_PRICE_OUTPUT_PER_MTOK": PRICE_OUTPUT,
        }
    if fal is not None:
        values |= {
            "FAL_KEY": fal.api_key,
            "FAL_QUEUE_URL": fal.url,
            "VIDEO_MODEL": VIDEO_MODEL,
            "VIDEO_PRICE_USD": VIDEO_PRICE,
            "MEDIA_HOSTS": fal.media_host,
        }
    values.update(env)
    return make_settings(tmp_path, **values)


# -- reading cards ----------------------------------------------------------------------------


def pipeline_lines(card: str) -> list[str]:
    """The step lines of a printed post card, without their numbers."""
    section = card.split("  Pipeline\n", 1)[1].split("  Chat References", 1)[0]
    lines = [line.strip() for line in section.splitlines() if line.strip()]
    return [re.sub(r"^\d+\. ", "", line) for line in lines]


def step_line(card: str, title: str) -> str:
    found = [line for line in pipeline_lines(card) if line.startswith(f"{title} ")]
    assert len(found) == 1, (title, pipeline_lines(card))
    return found[0]


def card_total(card: str) -> tuple[Decimal, int]:
    """The card's total and how many steps it says are of unknown cost."""
    match = TOTAL.search(card)
    assert match is not None, card
    return Decimal(match.group(1)), int(match.group(2) or 0)


def step_costs(card: str) -> list[Decimal | None]:
    """Each priced step line's cost (None for "cost unknown"); lines without a cost are left out."""
    costs: list[Decimal | None] = []
    for line in pipeline_lines(card):
        if "cost unknown" in line:
            costs.append(None)
        elif match := MONEY.search(line):
            costs.append(Decimal(match.group(1)))
    return costs


def drafts_posted(transcript: str) -> list[str]:
    """The content format of every draft card the console printed."""
    return [
        line.split(" · ")[2]
        for line in transcript.splitlines()
        if re.match(r"\[m\d+\] post \d+ · ", line) and line.rstrip().endswith("· draft 1")
    ]
