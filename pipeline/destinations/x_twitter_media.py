"""Images fitted to X's rules for a post's photos: PNG, JPEG, GIF or WebP, at most 5 MB each.

An image that already fits is sent untouched; otherwise it is recompressed as JPEG (on white
where it had transparency), first at falling quality, then scaled down, until it fits. An
animated GIF over the limit keeps its first frame only (X takes bigger GIFs as `tweet_gif` with
a chunked upload, which this destination does not do).
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from pipeline.destinations.base import DestinationError

MAX_IMAGE_BYTES = 5 * 1024 * 1024
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
MAX_ALT_TEXT = 1000  # X's limit on an image's alt text (POST /2/media/metadata)
_TYPE_OF_FORMAT = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "GIF": "image/gif",
    "WEBP": "image/webp",
}
_QUALITIES = (90, 80, 70)
_SMALLEST_SIDE = 64


def fit_image(path: Path, max_bytes: int = MAX_IMAGE_BYTES) -> tuple[bytes, str]:
    """The image's bytes and content type, as X will take them."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DestinationError(
            f"image {path.name} cannot be read ({exc.strerror or exc}); draft it again.",
            retryable=False,
        ) from exc
    try:
        with Image.open(io.BytesIO(data)) as image:
            content_type = _TYPE_OF_FORMAT.get(image.format or "")
            if content_type is not None and len(data) <= max_bytes:
                return data, content_type
            image.load()
            return _recompressed(image, max_bytes, path.name), "image/jpeg"
    except (UnidentifiedImageError, OSError) as exc:
        raise DestinationError(
            f"image {path.name} is not a PNG, JPEG, GIF or WebP picture; X takes only those.",
            retryable=False,
        ) from exc


def _recompressed(image: Image.Image, max_bytes: int, name: str) -> bytes:
    flat = _on_white(image)
    while True:
        for quality in _QUALITIES:
            out = io.BytesIO()
            flat.save(out, format="JPEG", quality=quality, optimize=True)
            if out.tell() <= max_bytes:
                return out.getvalue()
        width, height = flat.size
        if min(width, height) * 3 // 4 < _SMALLEST_SIDE:
            raise DestinationError(
                f"image {name} does not fit X's {max_bytes // (1024 * 1024)} MB limit even "
                "scaled down; use a smaller picture.",
                retryable=False,
            )
        flat = flat.resize((width * 3 // 4, height * 3 // 4), Image.Resampling.LANCZOS)


def _on_white(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "P", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")
