"""Images inside Discord's upload limit: recompressed or scaled to fit, else left out, and said.

Discord refuses a message whose files together exceed the server's limit (10 MiB, more on a
boosted server) with 413. The stored media is never touched: a smaller JPEG is written to a
temporary directory for this one message, and the card says what was done and where the
original is. This is only how Discord shows the card; nothing is recorded for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import discord
from PIL import Image

from bot import discord_embeds as embeds
from handlers.ports import Card, Section

DEFAULT_LIMIT = discord.utils.DEFAULT_FILE_SIZE_LIMIT_BYTES  # 10 MiB: no guild, or no boost
QUALITIES = (85, 75, 60)
MIN_SIDE = 160  # smaller than this is no longer worth showing: link it instead
# Room left for the full-text file and the lines this adds to the card.
NOTES_ALLOWANCE = 4096


def upload_limit(target: object) -> int:
    """Bytes of files a message in `target` may carry: its server's limit, else 10 MiB."""
    guild = getattr(target, "guild", None)
    return guild.filesize_limit if isinstance(guild, discord.Guild) else DEFAULT_LIMIT


def mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


@contextlib.asynccontextmanager
async def fitted(card: Card, limit: int) -> AsyncIterator[Card]:
    """`card` as it is when its files fit in `limit` bytes; else with its images reduced to fit
    (or left out) and a line for each saying so, valid until the block ends."""
    images = [p for p in card.images if p.is_file()][: embeds.FILES_MAX]
    full_text = embeds.render(card).full_text
    extra = len(full_text.encode()) if full_text is not None else 0
    if sum(p.stat().st_size for p in images) + extra <= limit:
        yield card
        return
    budget = limit - len(card.plain_text().encode()) - NOTES_ALLOWANCE
    with tempfile.TemporaryDirectory(prefix="draftroom-discord-") as workdir:
        yield await asyncio.to_thread(_fit, card, images, budget, limit, Path(workdir))


def _fit(card: Card, images: list[Path], budget: int, limit: int, workdir: Path) -> Card:
    """Smallest images first: each keeps its size if it fits its share of what is left (so the
    larger ones get what the smaller did not use); the others are reduced to their share."""
    chosen: dict[Path, Path] = {}
    notes: list[str] = []
    remaining = budget
    for index, path in enumerate(sorted(images, key=lambda p: p.stat().st_size)):
        share = remaining // (len(images) - index)
        size = path.stat().st_size
        if size <= share:
            chosen[path] = path
            remaining -= size
            continue
        out = workdir / f"{path.stem}.jpg"
        smaller = shrink(path, share, out if not out.exists() else workdir / f"{index}-{out.name}")
        if smaller is None:
            notes.append(_left_out(path, size, limit, card.more))
            continue
        chosen[path] = smaller
        remaining -= smaller.stat().st_size
        notes.append(_reduced(path, size, smaller, limit))
    kept = tuple(chosen[p] for p in images if p in chosen)
    sections = (*card.sections, *(Section(None, note) for note in notes))
    return dataclasses.replace(card, images=kept, sections=sections)


def shrink(path: Path, max_bytes: int, out: Path) -> Path | None:
    """`path` as a JPEG of at most `max_bytes` at `out`: lower quality first, then smaller;
    None when it is not an image Pillow can read or cannot get that small."""
    if max_bytes <= 0:
        return None
    try:
        with Image.open(path) as opened:
            picture = _flattened(opened)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    while True:
        for quality in QUALITIES:
            data = io.BytesIO()
            picture.save(data, "JPEG", quality=quality)
            if data.tell() <= max_bytes:
                out.write_bytes(data.getvalue())
                return out
        # JPEG size follows the pixel count: aim just under, from the smallest size tried.
        scale = min(0.9, 0.95 * (max_bytes / data.tell()) ** 0.5)
        if min(picture.size) * scale < MIN_SIDE:
            return None
        width, height = (max(1, round(side * scale)) for side in picture.size)
        picture = picture.resize((width, height), Image.Resampling.LANCZOS)


def _flattened(picture: Image.Image) -> Image.Image:
    """RGB, as JPEG needs: transparent parts over white."""
    if picture.mode in ("RGBA", "LA", "P", "PA"):
        rgba = picture.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return picture.convert("RGB")


def _reduced(original: Path, size: int, smaller: Path, limit: int) -> str:
    with Image.open(smaller) as shown:
        width, height = shown.size
    return (
        f"🖼 {original.name} ({mib(size)}) is over this server's {mib(limit)} Discord upload "
        f"limit, so it is shown reduced ({width}×{height} JPEG, {mib(smaller.stat().st_size)}); "
        "the original is kept as it is."
    )


def _left_out(original: Path, size: int, limit: int, more: str | None) -> str:
    where = f", listed in {more}" if more else ""
    return (
        f"🖼 {original.name} ({mib(size)}) is too large for this server's {mib(limit)} Discord "
        f"upload limit and could not be reduced to fit, so it is not attached; the file is kept "
        f"on the server as {original.name}{where}."
    )
