"""Cards as Discord embeds, always inside Discord's limits.

Sizes are counted in UTF-16 code units, which is never less than the number of code points, so
a message fits whichever way the limit is counted. Text that does not fit is cut at a word with
an ellipsis and the card's `more` pointer (such as "/post 34"), where the full text is shown.

The card's links (its web pages): the first is the embed's `url`, so its title opens it, and all
of them are `[label](url)` in one field after the text. Discord takes only http(s) URLs there;
a link that does not fit the field is left out whole, since a cut URL would lead nowhere.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import discord

from handlers.ports import Card, Link

CONTENT_MAX = 2000
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FOOTER_MAX = 2048
EMBEDS_TOTAL_MAX = 6000
EMBEDS_MAX = 10
FILES_MAX = 10
THREAD_NAME_MAX = 100
HEADING_MAX = 200
FIELD_VALUE_MAX = 1024
LINKS_FIELD = "Links"
LINK_LABEL_MAX = 100
LINK_SEPARATOR = " · "
FULL_TEXT_NAME = "full-text.md"
SEPARATOR = "\n\n"
COLOUR = discord.Colour(0x5865F2)

# Every message the bot sends: model output and user text must never ping anyone.
NO_MENTIONS = discord.AllowedMentions.none()


def size(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _prefix(text: str, limit: int) -> str:
    """The longest start of `text` of at most `limit` UTF-16 units (never half a surrogate)."""
    return text.encode("utf-16-le")[: 2 * max(limit, 0)].decode("utf-16-le", errors="ignore")


def cut(text: str, limit: int, more: str | None = None) -> str:
    """`text` if it fits, else its start cut at a word, with "…" and where to read the rest."""
    if size(text) <= limit:
        return text
    suffix = f"… (more: {more})" if more else "…"
    if size(suffix) >= limit:
        return _prefix("…", limit)
    head = _prefix(text, limit - size(suffix))
    space = max(head.rfind(" "), head.rfind("\n"))
    if space > len(head) // 2:
        head = head[:space]
    return head.rstrip() + suffix


def key_token(idempotency_key: str) -> str:
    """A short token for an idempotency key: the message nonce (at most 25 characters) and the
    marker in the embed footer that finds the message again after a restart."""
    return "dr" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:18]


def thread_name(title: str) -> str:
    return cut(" ".join(title.split()), THREAD_NAME_MAX) or "draftroom"


def plain(text: str) -> str:
    """Plain message content (error messages and notices)."""
    return cut(text, CONTENT_MAX)


@dataclass(frozen=True)
class Rendered:
    embeds: list[discord.Embed]
    images: list[Path]
    full_text: str | None = None  # the whole card, when the embeds had to cut it

    def files(self) -> list[discord.File]:
        """Fresh file objects: discord.py consumes and closes them on each send."""
        files = [discord.File(path, filename=path.name) for path in self.images]
        if self.full_text is not None:
            data = io.BytesIO(self.full_text.encode())
            files.append(discord.File(data, filename=FULL_TEXT_NAME))
        return files


def render(card: Card, *, marker: str | None = None) -> Rendered:
    """Embeds for `card`; when its text had to be cut, the whole of it goes along as a file."""
    title = cut(card.title, TITLE_MAX)
    footer = _footer(card.footer, marker)
    links = links_text(card.links)
    budget = EMBEDS_TOTAL_MAX - size(title) - size(footer)
    if links:
        budget -= size(LINKS_FIELD) + size(links)
    blocks = _blocks(card, budget)
    shortened = blocks != [heading + text for heading, text in _sections(card)]
    descriptions = _pack(blocks)
    embeds = [discord.Embed(description=d or None, colour=COLOUR) for d in descriptions]
    embeds = embeds[:EMBEDS_MAX] or [discord.Embed(colour=COLOUR)]
    if title:
        embeds[0].title = title
        embeds[0].url = next((link.url for link in card.links if web_url(link.url)), None)
    if links:
        embeds[-1].add_field(name=LINKS_FIELD, value=links, inline=False)
    if footer:
        embeds[-1].set_footer(text=footer)
    room_for_images = FILES_MAX - 1 if shortened else FILES_MAX
    images = [p for p in card.images if p.is_file()][:room_for_images]
    if images:
        embeds[0].set_image(url=f"attachment://{images[0].name}")
    return Rendered(embeds, images, card.plain_text() if shortened else None)


def web_url(url: str) -> bool:
    """An http(s) URL that markdown can carry: Discord refuses any other scheme in an embed."""
    parts = urlsplit(url)
    unsafe = any(c.isspace() or c in "()<>" for c in url)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not unsafe


def _markdown_link(link: Link) -> str:
    label = cut(" ".join(link.label.split()) or link.url, LINK_LABEL_MAX)
    for char in "\\[]":
        label = label.replace(char, "\\" + char)
    return f"[{label}]({link.url})"


def links_text(links: tuple[Link, ...]) -> str:
    """The card's links that fit one field, in order; those that do not are left out."""
    shown = ""
    for link in links:
        if not web_url(link.url):
            continue
        rendered = _markdown_link(link)
        joined = f"{shown}{LINK_SEPARATOR}{rendered}" if shown else rendered
        if size(joined) <= FIELD_VALUE_MAX:
            shown = joined
    return shown


def _footer(text: str | None, marker: str | None) -> str:
    if not marker:
        return cut(text or "", FOOTER_MAX)
    if not text:
        return marker
    tail = f" · {marker}"
    return cut(text, FOOTER_MAX - size(tail)) + tail


def _heading(heading: str | None) -> str:
    return f"**{cut(heading, HEADING_MAX)}**\n" if heading else ""


def _sections(card: Card) -> list[tuple[str, str]]:
    return [(_heading(s.heading), s.text.strip()) for s in card.sections if s.text.strip()]


def _blocks(card: Card, budget: int) -> list[str]:
    """Each section as one block of text, long texts cut so all blocks fit in `budget`."""
    sections = _sections(card)
    overhead = sum(size(h) for h, _ in sections) + size(SEPARATOR) * len(sections)
    cap = _cap([size(t) for _, t in sections], budget - overhead)
    blocks = []
    for heading, text in sections:
        limit = min(cap, DESCRIPTION_MAX - size(heading))
        if limit <= 0:
            break
        blocks.append(heading + cut(text, limit, card.more))
    return blocks


def _cap(lengths: list[int], budget: int) -> int:
    """The largest length `c` with sum(min(n, c) for n in lengths) <= budget."""
    remaining, count = budget, len(lengths)
    for index, length in enumerate(sorted(lengths)):
        if length * (count - index) > remaining:
            return max(remaining // (count - index), 0)
        remaining -= length
    return max(lengths, default=0)


def _pack(blocks: list[str]) -> list[str]:
    """Consecutive blocks joined into as few descriptions of at most 4096 as they fit."""
    descriptions: list[str] = []
    for block in blocks:
        if descriptions and size(descriptions[-1] + SEPARATOR + block) <= DESCRIPTION_MAX:
            descriptions[-1] += SEPARATOR + block
        else:
            descriptions.append(block)
    return descriptions
