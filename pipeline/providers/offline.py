"""Offline providers: no network, no key, $0, deterministic. The default, and the test double.

The text provider composes its answers from the request's data, so a plan, a batch of drafts
or an answer reads like the real thing and always matches the schema it was asked for.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

from pipeline.providers.base import MediaRequest, MediaResult, StepSkipped, TextRequest, TextResult
from pipeline.render import render_offline_image

NAME = "offline"


def _sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+", " ".join(text.split()))
    return [p for p in parts if len(p) > 3]


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


class OfflineText:
    """`latency_s` simulates provider time (demos, the crash test, benchmarks); 0 by default."""

    name = NAME
    model = "offline-text"

    def __init__(self, latency_s: float = 0.0) -> None:
        self.latency_s = latency_s

    def estimate_cost(self, request: TextRequest) -> float:
        return 0.0

    async def complete(self, request: TextRequest) -> TextResult:
        started = time.perf_counter()
        compose = getattr(self, f"_{request.task}", None)
        if compose is None:
            raise ValueError(f"offline text has no composer for task {request.task!r}")
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        answer: dict[str, Any] = compose(request.data)
        text = json.dumps(answer, ensure_ascii=False)
        return TextResult(text, NAME, self.model, 0.0, time.perf_counter() - started, "stop")

    def _plan(self, data: dict[str, Any]) -> dict[str, Any]:
        idea = " ".join(str(data["idea"]).split()).rstrip(".")
        pillar = str(data["pillar"])
        description = str(data.get("pillar_description", "")).rstrip(".")
        angle = (
            f"{idea}. Take it through the {pillar.replace('_', ' ')} lens: {description.lower()}. "
            "Say plainly what the arrangement is, who checks it, and what would have to be true "
            "for it to mean what it claims. Button: end on the gap between what it is called "
            "and what it does."
        )
        closest = data.get("closest")
        title = pillar.replace("_", " ").capitalize()
        if not closest:
            rationale = (
                f"{title} pillar. No recent @{data['persona']} posts in this pillar, so there "
                "is nothing to repeat. Different enough to run."
            )
        elif closest.get("too_close"):
            rationale = (
                f"{title} pillar. Recent post {closest['post_id']} was about "
                f"{closest['about']}; this covers much the same ground. Too close to run as is: "
                "refine the angle before running."
            )
        else:
            rationale = (
                f"{title} pillar. Recent post {closest['post_id']} was about {closest['about']}; "
                "this goes one level up, to what the arrangement means rather than how it "
                "works. Different enough to run."
            )
        return {"angle": angle, "rationale": rationale}

    def _refine(self, data: dict[str, Any]) -> dict[str, Any]:
        note = " ".join(str(data["note"]).split())
        angle = f"{data['angle']}\n\nRevised: {note}"
        rationale = str(data["rationale"])
        return {
            "angle": angle,
            "rationale": rationale,
            "change_summary": f"folded in the note “{_clip(note, 160)}”; the rationale stands",
        }

    def _draft(self, data: dict[str, Any]) -> dict[str, Any]:
        angle = str(data.get("angle") or data["plan_text"])
        sentences = [
            s.removeprefix("Button: ").removeprefix("Revised: ") for s in _sentences(angle)
        ] or ["This needs saying."]
        if data.get("note"):
            sentences.append(_clip(" ".join(str(data["note"]).split()), 200).rstrip(".") + ".")
        tags = " ".join(data.get("hashtags", []))
        items = []
        for index, content_format in enumerate(data["formats"]):
            offset = int(data.get("seed", 0)) + index
            lead = sentences[offset % len(sentences)]
            count = len(sentences)
            paragraphs = [
                " ".join(sentences[(offset + k) % count] for k in range(start, start + 2))
                for start in range(0, min(count, 6), 2)
            ]
            items.append(
                {
                    "content_format": content_format,
                    "headline": _clip(lead, 90),
                    "body": "\n\n".join(dict.fromkeys(paragraphs)),
                    "caption": _clip(lead[0].lower() + lead[1:], 200)
                    + (f" {tags}" if tags else ""),
                }
            )
        return {"items": items}

    def _video_script(self, data: dict[str, Any]) -> dict[str, Any]:
        lines = _sentences(str(data["body"]))[:3] or [str(data["headline"])]
        beats = [f"Shot {i} ({i * 4 - 4}-{i * 4}s): {line}" for i, line in enumerate(lines, 1)]
        beats.append(f"End card: {data['headline']}")
        return {"script": "\n".join(beats)}

    def _fit_caption(self, data: dict[str, Any]) -> dict[str, Any]:
        """The caption's words cut to `max_chars` characters, its hashtags kept whole. Told what
        an earlier rewrite came to as the network counts, it cuts in that proportion."""
        words = str(data["caption"]).split()
        tags = " ".join(w for w in words if w.startswith("#"))
        text = " ".join(w for w in words if not w.startswith("#"))
        room = int(data["max_chars"])
        previous, measured = data.get("previous_rewrite"), data.get("previous_length")
        if previous and measured:
            room = len(str(previous)) * room // max(int(measured), 1)
        room -= (len(tags) + 1) if tags else 0
        kept = _clip(text, room) if room > 1 else ""
        return {"caption": " ".join(part for part in (kept, tags) if part) or text[:1]}

    def _ask(self, data: dict[str, Any]) -> dict[str, Any]:
        posts = data.get("posts", [])
        if not posts:
            return {
                "answer": "Nothing in the post library matches that question yet.",
                "post_ids": [],
            }
        lines = [f"post {p['id']}: {p['headline']}" for p in posts]
        answer = "From the post library:\n" + "\n".join(lines)
        return {"answer": answer, "post_ids": [int(p["id"]) for p in posts]}


class OfflineImages:
    name = NAME
    model = "offline-image"

    def __init__(self, latency_s: float = 0.0) -> None:
        self.latency_s = latency_s

    def estimate_cost(self, request: MediaRequest) -> float:
        return 0.0

    async def submit(self, request: MediaRequest) -> dict[str, Any]:
        return {
            "prompt": request.prompt,
            "aspect_ratio": request.aspect_ratio,
            "submitted_at": time.time(),
        }

    async def fetch(self, handle: dict[str, Any]) -> MediaResult:
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        data = await asyncio.to_thread(
            render_offline_image, str(handle["prompt"]), str(handle["aspect_ratio"])
        )
        latency = max(0.0, time.time() - float(handle["submitted_at"]))
        return MediaResult(data, "png", "image/png", NAME, self.model, 0.0, latency)

    async def cancel(self, handle: dict[str, Any]) -> None:
        return None


class OfflineVideo:
    name = NAME
    model = "offline-video"

    def estimate_cost(self, request: MediaRequest) -> float:
        return 0.0

    async def submit(self, request: MediaRequest) -> dict[str, Any]:
        raise StepSkipped("offline makes no video clips; set FAL_KEY and VIDEO_MODEL for real ones")

    async def fetch(self, handle: dict[str, Any]) -> MediaResult:
        raise StepSkipped("offline makes no video clips; set FAL_KEY and VIDEO_MODEL for real ones")

    async def cancel(self, handle: dict[str, Any]) -> None:
        return None
