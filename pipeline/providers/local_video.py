"""A video drawn here, with no network and no key: one hero-text card per shot of the post's
video script (pipeline/render.py draws them), as an MP4 that Slack, Discord and browsers play
inline. $0, and the step records how long the render took.

The video clip step calls `render` (pipeline/item_steps.py): CPU work in a thread, bounded
like the hero-text card's rendering, outside the provider step timeout and its retries. It is
also queue-shaped like any media provider (`submit` only writes down what to draw; `fetch`
draws it), so it fits wherever one is expected. The encoding is in pipeline/providers/mp4.py.
"""

from __future__ import annotations

import asyncio
import io
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from pipeline.providers.base import MediaRequest, MediaResult, ProviderError
from pipeline.providers.mp4 import EncodeFailed, TooLarge, encode_stills
from pipeline.render import render_hero_card, render_offline_image

NAME = "local"
MODEL = "draftroom-local-video"
# Discord refuses a message whose files pass 10 MiB (an unboosted server); the clip keeps most
# of that free for the card's other files. Slack's limit is far higher.
MAX_BYTES = 8 * 1024 * 1024
# render_hero_card sets at most six lines of 22 characters: a longer shot is cut at a word.
SHOT_CHARS = 120
# "Shot 2 (4-8s):", "Scene 3 -", "End card:", "1.", "- " and the like: labels, not words to show.
_LABEL = re.compile(
    r"^\s*(?:[-*•]\s*)?(?:(?:shot|scene|beat|cut)\s*\d*\s*(?:\([^)]{0,20}\))?\s*[:.\-–]"
    r"|end card\s*:|\d{1,2}[.)])?\s*",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ClipShape:
    """How the clip is drawn. The defaults render the seed's four shots in about half a second
    on one core; tests use a smaller one."""

    long_side: int = 960  # 540x960 at 9:16
    fps: int = 24
    seconds_per_shot: float = 3.0
    most_shots: int = 8


@dataclass(frozen=True)
class Clip:
    mp4: bytes
    poster: bytes  # the first shot's card, as a PNG
    frames: int
    shots: int


def shots_of(script: str, headline: str, most: int = ClipShape.most_shots) -> list[str]:
    """The words of each shot: one line of the script each, labels dropped. A script longer
    than `most` shots keeps its first ones and its last (the end card)."""
    shots = []
    for line in script.splitlines():
        words = " ".join(_LABEL.sub("", line).replace("**", "").split())
        if words:
            shots.append(_clip_words(words, SHOT_CHARS))
    if len(shots) > most:
        shots = [*shots[: most - 1], shots[-1]]
    return shots or [_clip_words(headline, SHOT_CHARS) or "…"]


def _clip_words(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def frame_size(aspect_ratio: str, long_side: int) -> tuple[int, int]:
    """Width and height for `aspect_ratio` with its longer side `long_side`, both even (H.264's
    4:2:0 needs it)."""
    try:
        w, h = (max(1, int(x)) for x in aspect_ratio.split(":"))
    except ValueError:
        w, h = 9, 16
    scale = long_side / max(w, h)
    return max(2, round(w * scale / 2) * 2), max(2, round(h * scale / 2) * 2)


def render_clip(
    shots: list[str],
    handle: str,
    aspect_ratio: str,
    background: bytes,
    shape: ClipShape,
    max_bytes: int,
) -> Clip:
    """CPU work: call it in a thread."""
    size = frame_size(aspect_ratio, shape.long_side)
    cards = [render_hero_card(background, words, handle, aspect_ratio, size[0]) for words in shots]
    stills = []
    for png in cards:
        with Image.open(io.BytesIO(png)) as card:  # a pixel taller than `size` at odd ratios
            still = card.convert("RGB")
        stills.append(still if still.size == size else still.resize(size))
    frames_per_shot = max(1, round(shape.fps * shape.seconds_per_shot))
    try:
        mp4 = encode_stills(stills, shape.fps, frames_per_shot, max_bytes)
    except TooLarge as exc:
        raise ProviderError(
            f"the local clip of {len(shots)} shots is {_mib(exc.size)} even at the lowest "
            f"bitrate, over the {_mib(max_bytes)} a chat upload may carry; shorten the video "
            "script and try again"
        ) from None
    except EncodeFailed as exc:
        raise ProviderError(f"the local video renderer failed: {exc}") from None
    return Clip(mp4, cards[0], frames_per_shot * len(shots), len(shots))


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.2f} MiB"


class LocalVideo:
    name = NAME
    model = MODEL

    def __init__(self, shape: ClipShape | None = None, max_bytes: int = MAX_BYTES) -> None:
        self.shape = shape or ClipShape()
        self.max_bytes = max_bytes

    def estimate_cost(self, request: MediaRequest) -> float:
        return 0.0

    async def render(self, request: MediaRequest) -> MediaResult:
        return await self.fetch(await self.submit(request))

    async def submit(self, request: MediaRequest) -> dict[str, Any]:
        return {
            "shots": shots_of(request.script, request.headline, self.shape.most_shots),
            "handle": request.handle,
            "aspect_ratio": request.aspect_ratio,
            "prompt": request.prompt,
            "background": request.background,
        }

    async def fetch(self, handle: dict[str, Any]) -> MediaResult:
        if not isinstance(handle.get("shots"), list):  # submitted to fal before a switch
            raise ProviderError(
                "this clip was submitted to another video provider; set VIDEO_PROVIDER back to "
                "finish it, or regenerate the post"
            )
        started = time.perf_counter()
        clip = await asyncio.to_thread(self._render, handle)
        return MediaResult(
            clip.mp4,
            "mp4",
            "video/mp4",
            NAME,
            MODEL,
            0.0,
            time.perf_counter() - started,
            poster=clip.poster,
        )

    async def cancel(self, handle: dict[str, Any]) -> None:
        return None

    def _render(self, handle: dict[str, Any]) -> Clip:
        aspect_ratio = str(handle["aspect_ratio"])
        return render_clip(
            [str(s) for s in handle["shots"]],
            str(handle["handle"]),
            aspect_ratio,
            _background(handle.get("background"), str(handle["prompt"]), aspect_ratio),
            self.shape,
            self.max_bytes,
        )


def _background(path: object, prompt: str, aspect_ratio: str) -> bytes:
    """The poster frame the shots are drawn over; the offline gradient when there is none."""
    if isinstance(path, str) and Path(path).is_file():
        return Path(path).read_bytes()
    return render_offline_image(prompt, aspect_ratio)
