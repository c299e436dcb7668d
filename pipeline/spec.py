"""Content formats and the batch constraint ("special message") that says how many of each.

>>> parse_special("Generate exactly 5 items: 1 with content_format='video' and "
...               "4 with content_format='hero_text'.", max_items=10).describe()
'5 items: 1 video, 4 hero_text'
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Format:
    name: str
    steps: tuple[str, ...]
    aspect_ratio: str
    about: str


# The pipeline steps each format goes through, in order. "draft" is the text of the item,
# written with the batch; what each step does is its entry in `STEPS` (pipeline/item_steps.py).
# Aspect ratios are defaults (ASPECT_RATIOS overrides them), all among those fal's
# flux-pro v1.1 ultra accepts: 21:9, 16:9, 4:3, 3:2, 1:1, 2:3, 3:4, 9:16, 9:21.
FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("text", ("draft",), "1:1", "text only"),
        Format("hero_text", ("draft", "hero_image", "hero_card"), "3:4", "headline over an image"),
        Format("image", ("draft", "hero_image"), "1:1", "an image with a caption"),
        Format("video", ("draft", "video_script", "poster_frame", "video_clip"), "9:16", "a clip"),
    )
}

# Right after the draft, for a persona that publishes to a social network: the caption checked
# against each network's limits, and rewritten where it does not fit (pipeline/fit.py).
# The runner adds it to such an item's steps (pipeline/runner.py `_add_fit_step`).
FIT_STEP = "fit_caption"


STEP_TITLES = {
    "plan": "Plan",
    "draft": "Draft",
    FIT_STEP: "Fit for networks",
    "hero_image": "Hero image",
    "hero_card": "Hero-text card",
    "video_script": "Video script",
    "poster_frame": "Poster frame",
    "video_clip": "Video clip",
}


class SpecError(ValueError):
    """The special message cannot be turned into an exact item spec; the text says why."""


@dataclass(frozen=True)
class ItemSpec:
    counts: tuple[tuple[str, int], ...]

    @property
    def total(self) -> int:
        return sum(n for _, n in self.counts)

    def formats(self) -> list[str]:
        """One entry per item, in the order the spec names them."""
        return [name for name, n in self.counts for _ in range(n)]

    def describe(self) -> str:
        parts = ", ".join(f"{n} {name}" for name, n in self.counts)
        noun = "item" if self.total == 1 else "items"
        return f"{self.total} {noun}: {parts}"

    def special_message(self) -> str:
        parts = " and ".join(f"{n} with content_format='{name}'" for name, n in self.counts)
        noun = "item" if self.total == 1 else "items"
        return f"Generate exactly {self.total} {noun}: {parts}."

    def to_json(self) -> str:
        return json.dumps([[name, n] for name, n in self.counts])

    @classmethod
    def from_json(cls, text: str) -> ItemSpec:
        return cls(tuple((str(name), int(n)) for name, n in json.loads(text)))


_TOTAL = re.compile(r"\bexactly\s+([0-9]{1,4})\s+items?\b", re.IGNORECASE)
_WITH_FORMAT = re.compile(
    r"\b([0-9]{1,4})\s+(?:items?\s+)?with\s+content_format\s*=\s*['\"]?([A-Za-z_][\w-]*)['\"]?",
    re.IGNORECASE,
)
_SHORT = re.compile(r"\b([0-9]{1,4})\s*(?:x\s*)?([A-Za-z_][\w-]*)\b")
_EXAMPLE = (
    "Generate exactly 5 items: 1 with content_format='video' and 4 with content_format='hero_text'."
)


def parse_special(text: str, *, max_items: int) -> ItemSpec:
    """Read a batch constraint. Accepts the pipeline's own sentence, or short forms such as
    `1 video, 4 hero_text`. Anything that does not add up is refused with the reason."""
    text = text.strip()
    if not text:
        raise SpecError(f"the special message is empty. Write it like: {_EXAMPLE}")
    pairs = [(int(n), name.lower()) for n, name in _WITH_FORMAT.findall(text)]
    if not pairs:
        pairs = [
            (int(n), name.lower())
            for n, name in _SHORT.findall(text)
            if name.lower() not in ("item", "items")
        ]
    if not pairs:
        raise SpecError(f"could not find any item counts in the special message. {_hint()}")
    unknown = sorted({name for _, name in pairs if name not in FORMATS})
    if unknown:
        raise SpecError(
            f"unknown content format {', '.join(repr(u) for u in unknown)}; "
            f"valid formats: {', '.join(FORMATS)}."
        )
    counts: dict[str, int] = {}
    for n, name in pairs:
        counts[name] = counts.get(name, 0) + n
    if any(n <= 0 for n in counts.values()):
        raise SpecError("every format needs a count of at least 1.")
    total = sum(counts.values())
    declared = _TOTAL.search(text)
    if declared and int(declared.group(1)) != total:
        listed = " + ".join(str(n) for n, _ in pairs)
        raise SpecError(
            f"the counts do not add up: it says exactly {declared.group(1)} items, "
            f"but {listed} = {total}."
        )
    if total > max_items:
        raise SpecError(f"{total} items is more than the limit of {max_items} per run.")
    return ItemSpec(tuple(counts.items()))


def _hint() -> str:
    return f"Write it like: {_EXAMPLE} Formats: {', '.join(FORMATS)}."
