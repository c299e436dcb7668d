"""Cards as Slack messages: Block Kit plus a plain-text fallback, always inside Slack's limits.

Slack refuses a message with more than 50 blocks, a header over 150 characters or a section over
3000 (`invalid_blocks`), and one whose blocks, as JSON, are too long (`msg_blocks_too_long`,
reported near 13,000 characters; undocumented). Characters are counted in UTF-16 code units, as
Slack may count them: never fewer than code points, so text fits whichever way it is counted,
and a cut never splits a surrogate pair (an emoji outside the BMP is two units). Text that does
not fit is cut at a word with an ellipsis and a pointer to the card's `more` (such as
"/post 34"), where the whole of it is.
When the blocks as a whole are too long, the longest sections give way first, down to a common
length, so that short ones (a status line) always survive whole.
The card's links (its web pages) are one context block of mrkdwn `<url|label>` after the body,
never url buttons (those send block_actions that must be acknowledged); a link that does not fit
is left out whole, since a cut URL would lead nowhere.
The card's images, once uploaded (see `bot.slack_uploads`), are `image` blocks naming their
`slack_file` by id, after the body and before the links, so the picture is in the message an
approver reacts on.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from handlers.ports import Card, Link, Section

MAX_BLOCKS = 50
HEADER_CHARS = 150
SECTION_CHARS = 3000
CONTEXT_CHARS = 2000
ALT_TEXT_CHARS = 2000
MAX_IMAGES = 10  # image blocks a card shows; more than a draft ever has
LINK_LABEL_CHARS = 100
# The links' share of BLOCKS_JSON_BUDGET, so that they and the header always fit it together.
LINKS_JSON_BUDGET = 4000
LINK_SEPARATOR = " · "
# The images' share of it (their alt texts are cut to fit).
IMAGES_JSON_BUDGET = 2500
# Measured as slack_sdk sends it (json.dumps, non-ASCII escaped); well under where Slack refuses.
BLOCKS_JSON_BUDGET = 11_000
FALLBACK_CHARS = 3000
ELLIPSIS = "…"
# Cut at the last space only if that keeps at least this share of the room; else mid-word.
MIN_WORD_CUT = 0.6
FIT_ROUNDS = 12

Block = dict[str, Any]


@dataclass(frozen=True)
class SlackMessage:
    text: str  # the fallback shown in notifications and where blocks cannot be
    blocks: list[Block]


@dataclass(frozen=True)
class SlackImage:
    """An uploaded file to show in an image block, and its plain-text description."""

    file_id: str
    alt_text: str


def image_block(image: SlackImage, budget: int = IMAGES_JSON_BUDGET) -> Block:
    """The image as a block whose JSON fits `budget`: its alt text cut to fit."""
    alt_text, limit = " ".join(image.alt_text.split()) or "image", ALT_TEXT_CHARS
    while True:
        block = {
            "type": "image",
            "slack_file": {"id": image.file_id},
            "alt_text": cut(alt_text, limit),
        }
        size = _json_len(block)
        if size <= budget or limit <= 1:
            return block
        limit = max(1, min(limit - 1, limit * budget // size))


def _image_blocks(images: Sequence[SlackImage]) -> list[Block]:
    shown = images[:MAX_IMAGES]
    return [image_block(image, IMAGES_JSON_BUDGET // len(shown)) for image in shown]


def shown_images(blocks: Sequence[Block]) -> tuple[SlackImage, ...]:
    """The images a message's blocks show by file id (what an edit must show again)."""
    return tuple(
        SlackImage(str(b["slack_file"]["id"]), str(b.get("alt_text") or ""))
        for b in blocks
        if b.get("type") == "image" and isinstance(b.get("slack_file"), dict)
        if b["slack_file"].get("id")
    )


def escape(text: str) -> str:
    """Slack's three control characters in mrkdwn and message text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def utf16_len(text: str) -> int:
    # surrogatepass: a lone surrogate (valid JSON from Slack, not valid UTF-16) is one unit.
    return len(text.encode("utf-16-le", errors="surrogatepass")) // 2


def utf16_prefix(text: str, limit: int) -> str:
    """The longest start of `text` of at most `limit` UTF-16 units (never half a surrogate)."""
    data = text.encode("utf-16-le", errors="surrogatepass")[: 2 * max(limit, 0)]
    return data.decode("utf-16-le", errors="ignore")


def cut(text: str, limit: int, pointer: str = "") -> str:
    """`text` whole if it fits in `limit` UTF-16 units, else cut at a word, with … and `pointer`."""
    if utf16_len(text) <= limit:
        return text
    tail = ELLIPSIS + pointer
    room = limit - utf16_len(tail)
    if room <= 0:
        return utf16_prefix(text, limit - 1) + ELLIPSIS if limit > 0 else ""
    head = utf16_prefix(text, room)
    at_space = max(head.rfind(" "), head.rfind("\n"))
    if at_space >= 0 and utf16_len(head[:at_space]) >= room * MIN_WORD_CUT:
        head = head[:at_space]
    return head.rstrip() + tail


def _pointer(card: Card) -> str:
    return f" (the rest: {card.more})" if card.more else ""


def _cut_escaped(text: str, limit: int, pointer: str) -> str:
    """Escape, then cut so that the escaped form fits (escaping only makes text longer)."""
    raw_limit = limit
    while True:
        escaped = escape(cut(text, raw_limit, pointer))
        if utf16_len(escaped) <= limit or raw_limit <= 0:
            return utf16_prefix(escaped, limit)
        raw_limit = min(raw_limit - 1, raw_limit * limit // utf16_len(escaped))


def _json_len(value: Any) -> int:
    return len(json.dumps(value))


@dataclass
class _Part:
    heading: str | None
    text: str
    limit: int = SECTION_CHARS  # the most UTF-16 units of (escaped) text to show; fitting lowers it

    def prefix(self) -> str:
        return f"*{escape(self.heading)}*\n" if self.heading else ""

    def body(self, pointer: str) -> str:
        room = min(self.limit, SECTION_CHARS - utf16_len(self.prefix()))
        return _cut_escaped(self.text, max(0, room), pointer)

    def mrkdwn(self, pointer: str) -> str:
        return self.prefix() + self.body(pointer)


def _link(link: Link) -> str | None:
    """`<url|label>`, or None for a URL that cannot be one: mrkdwn ends a link at `|` or `>`."""
    url = link.url.strip()
    if not url or any(c.isspace() or c in "<>|" for c in url):
        return None
    label = " ".join(link.label.split()) or url
    return f"<{escape(url)}|{escape(cut(label, LINK_LABEL_CHARS))}>"


def links_text(links: tuple[Link, ...]) -> str:
    """The links that fit in one context element, in order; those that do not are left out."""
    shown = ""
    for link in links:
        rendered = _link(link)
        if rendered is None:
            continue
        joined = f"{shown}{LINK_SEPARATOR}{rendered}" if shown else rendered
        if utf16_len(joined) <= CONTEXT_CHARS and _json_len(joined) <= LINKS_JSON_BUDGET:
            shown = joined
    return shown


def _links_block(card: Card) -> Block | None:
    text = links_text(card.links)
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]} if text else None


def _parts(card: Card, images: list[Block]) -> list[_Part]:
    sections = [s for s in card.sections if s.text.strip() or s.heading]
    # The header, the links, the footer and the images have their blocks first.
    room = MAX_BLOCKS - (3 if card.links else 2) - len(images)
    if len(sections) > room:
        rest = "\n\n".join(s.text for s in sections[room - 1 :])
        sections = [*sections[: room - 1], Section(None, rest)]
    return [_Part(s.heading, s.text) for s in sections]


def _header(card: Card) -> list[Block]:
    title = " ".join(card.title.split())
    if not title:
        return []
    header = {"type": "plain_text", "text": cut(title, HEADER_CHARS), "emoji": True}
    return [{"type": "header", "text": header}]


def _blocks(
    card: Card, parts: list[_Part], pointer: str, images: list[Block], links: Block | None
) -> list[Block]:
    blocks = _header(card)
    for part in parts:
        text = part.mrkdwn(pointer)
        if text.strip():
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    blocks.extend(images)
    if links is not None:
        blocks.append(links)
    if card.footer:
        element = {"type": "mrkdwn", "text": _cut_escaped(card.footer, CONTEXT_CHARS, "")}
        blocks.append({"type": "context", "elements": [element]})
    return blocks


def level_for(sizes: list[int], excess: int) -> int:
    """The highest common cap that, applied to every size above it, frees `excess` in total."""
    ordered = sorted(sizes, reverse=True)
    freed = 0
    for i, size in enumerate(ordered):
        lower = ordered[i + 1] if i + 1 < len(ordered) else 0
        capped = i + 1  # how many sizes come down together from here
        if freed + capped * (size - lower) >= excess:
            return size - math.ceil((excess - freed) / capped)
        freed += capped * (size - lower)
    return 0


def _shrink(parts: list[_Part], pointer: str, excess: int) -> None:
    bodies = [p.body(pointer) for p in parts]
    sizes = [_json_len(b) for b in bodies]
    level = level_for(sizes, excess)
    for part, body, size in zip(parts, bodies, sizes, strict=True):
        if size > level:
            # Escapes make JSON weigh more than the text it holds: scale the cut by the ratio.
            units = utf16_len(body)
            part.limit = max(0, units - math.ceil((size - level) * units / size))


def render(card: Card, images: Sequence[SlackImage] = ()) -> SlackMessage:
    """The card as Slack blocks and fallback text, within every limit above; `images` are the
    card's uploaded images, shown as image blocks (the fallback text does not need them)."""
    pointer = _pointer(card)
    text = _cut_escaped(card.plain_text(), FALLBACK_CHARS, pointer)
    pictures = _image_blocks(images)
    parts = _parts(card, pictures)
    links = _links_block(card)
    blocks = _blocks(card, parts, pointer, pictures, links)
    for _ in range(FIT_ROUNDS):
        excess = _json_len(blocks) - BLOCKS_JSON_BUDGET
        if excess <= 0:
            return SlackMessage(text, blocks)
        _shrink(parts, pointer, excess)
        blocks = _blocks(card, parts, pointer, pictures, links)
    if _json_len(blocks) > BLOCKS_JSON_BUDGET:
        blocks = _header(card) + pictures + ([links] if links is not None else [])
    return SlackMessage(text, blocks)
