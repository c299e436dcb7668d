"""Fitting an image under Bluesky's blob cap before it is uploaded.

An image that already fits is sent as it is. One that does not is re-encoded as JPEG at falling
qualities, then scaled down (aspect kept) until it fits: the approver saw the picture, and a
smaller copy of it is still that picture, where a refused upload would post nothing.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

UPLOADABLE_TYPES = ("image/png", "image/jpeg", "image/webp")
_QUALITIES = (90, 80, 70, 60)
_MAX_SCALINGS = 12
_MIN_SIDE = 64


class ImageFitError(ValueError):
    """The bytes are not an image, or no smaller copy of it fits the cap."""


@dataclass(frozen=True)
class FittedImage:
    data: bytes
    content_type: str
    width: int
    height: int


def fit_image(data: bytes, content_type: str, max_bytes: int) -> FittedImage:
    """`data` itself when it fits and is a type Bluesky shows, else a JPEG copy that fits."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.load()
            image = ImageOps.exif_transpose(opened)
    except (UnidentifiedImageError, OSError) as exc:
        raise ImageFitError("the file is not an image Pillow can read") from exc
    width, height = image.size
    if len(data) <= max_bytes and content_type in UPLOADABLE_TYPES:
        return FittedImage(data, content_type, width, height)
    flat = _flatten(image)
    for _ in range(_MAX_SCALINGS):
        for quality in _QUALITIES:
            encoded = _jpeg(flat, quality)
            if len(encoded) <= max_bytes:
                return FittedImage(encoded, "image/jpeg", flat.width, flat.height)
        scale = max(0.5, min(0.9, (max_bytes / len(encoded)) ** 0.5))
        new_size = (round(flat.width * scale), round(flat.height * scale))
        if min(new_size) < _MIN_SIDE:
            break
        flat = flat.resize(new_size, Image.Resampling.LANCZOS)
    raise ImageFitError(f"no copy of it fits in {max_bytes:,} bytes")


def _flatten(image: Image.Image) -> Image.Image:
    """RGB on white: JPEG has no transparency, and black behind a logo reads as a mistake."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality, optimize=True)
    return out.getvalue()
