"""Local image rendering with Pillow: the offline hero image and the hero-text card."""

from __future__ import annotations

import hashlib
import io
import textwrap

from PIL import Image, ImageDraw, ImageFont

CARD_WIDTH = 1080
_DARKEN = [round(v * 0.55) for v in range(256)] * 3


def size_for(aspect_ratio: str, width: int = CARD_WIDTH) -> tuple[int, int]:
    try:
        w, h = (int(x) for x in aspect_ratio.split(":"))
    except ValueError:
        w, h = 1, 1
    return width, max(1, round(width * h / max(w, 1)))


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False, compress_level=1)
    return out.getvalue()


def render_offline_image(prompt: str, aspect_ratio: str) -> bytes:
    """A deterministic abstract image: two colours from the prompt's hash, as a soft gradient."""
    digest = hashlib.sha256(prompt.encode()).digest()
    top = (digest[0] // 2, digest[1] // 2, 64 + digest[2] // 2)
    bottom = (128 + digest[3] // 2, digest[4] // 3, digest[5] // 3)
    width, height = size_for(aspect_ratio)
    mask = Image.linear_gradient("L").resize((width // 8, height // 8))
    image = Image.composite(
        Image.new("RGB", mask.size, bottom), Image.new("RGB", mask.size, top), mask
    )
    return _png(image.resize((width, height), Image.Resampling.BILINEAR))


def render_hero_card(
    background: bytes, headline: str, handle: str, aspect_ratio: str, width: int = CARD_WIDTH
) -> bytes:
    """The headline set over the hero image, darkened for contrast, with the persona's handle."""
    width, height = size_for(aspect_ratio, width)
    with Image.open(io.BytesIO(background)) as source:
        source.draft("RGB", (width, height))  # a JPEG decodes at the scale it is shown at
        image = source.convert("RGB").resize((width, height), Image.Resampling.BILINEAR)
    image = image.point(_DARKEN)  # 45% towards black, without a black image to blend with
    draw = ImageDraw.Draw(image)
    font_size = width // 14
    font = ImageFont.load_default(size=font_size)
    small = ImageFont.load_default(size=width // 30)
    lines = textwrap.wrap(headline, width=22)[:6]
    line_height = int(font_size * 1.25)
    y = (height - line_height * len(lines)) // 2
    for line in lines:
        draw.text((width // 12, y), line, font=font, fill=(255, 255, 255))
        y += line_height
    draw.text((width // 12, height - width // 10), f"@{handle}", font=small, fill=(230, 230, 230))
    return _png(image)
