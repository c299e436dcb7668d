"""Judge downloaded media by its bytes, not by the Content-Type a server put on it.

A server on an allowed host can still label anything `image/png`: an SVG carrying a script, an
HTML page, half a JPEG. Images must open with Pillow as the format they claim and decode whole;
videos must start with their container's signature. SVG is never accepted: it is a document
that can run script wherever it is shown, not an image.
"""

from __future__ import annotations

import io
import re

from PIL import Image, UnidentifiedImageError

from pipeline.providers.base import ProviderError

# Content type -> the format name Pillow reports when it opens the bytes.
IMAGE_FORMATS = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WEBP",
    "image/gif": "GIF",
}
FORMAT_NAMES = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP", "GIF": "GIF"}
VIDEO_CONTAINERS = {
    "video/mp4": "MP4",
    "video/quicktime": "MOV",
    "video/webm": "WebM",
    "video/x-matroska": "Matroska",
}
SUPPORTED_TYPES = (*IMAGE_FORMATS, *VIDEO_CONTAINERS)
SUPPORTED_NAMES = "JPEG, PNG, WebP, GIF, MP4, MOV, WebM or Matroska"
EBML_MAGIC = b"\x1a\x45\xdf\xa3"
SNIFF_BYTES = 1024
# Far above any generated image (fal's largest is about 4 megapixels), far below a memory bomb.
MAX_PIXELS = 40_000_000
HTML_TAG = re.compile(r"<(?:!doctype html|html|head|body|script|iframe|div|meta|a|p)[\s>/]")


def check_supported_type(content_type: str) -> None:
    """Refuse, before any body is read, a type that can never pass `check_media_bytes`."""
    if content_type not in SUPPORTED_TYPES:
        raise ProviderError(
            f"media download refused: content type {content_type!r} is not a supported media "
            f"type ({SUPPORTED_NAMES})",
            retryable=False,
        )


def check_media_bytes(data: bytes, content_type: str, host: str) -> None:
    """Raise a non-retryable ProviderError unless `data` really is what `content_type` claims.

    Decoding a whole image is CPU work: call this off the event loop.
    """
    if content_type in IMAGE_FORMATS:
        kind = "image"
        problem = _image_problem(data, IMAGE_FORMATS[content_type])
    else:
        kind = "video"
        problem = _video_problem(data, VIDEO_CONTAINERS[content_type])
    if problem:
        raise ProviderError(
            f"media download refused: the {kind} from {host} {problem}", retryable=False
        )


def _image_problem(data: bytes, expected: str) -> str | None:
    """What is wrong, as the end of a sentence about the image, or None."""
    claimed = FORMAT_NAMES[expected]
    try:
        with Image.open(io.BytesIO(data)) as image:
            found = str(image.format)
            if found != expected:
                return f"is not a {claimed} (it reads as {FORMAT_NAMES.get(found, found)})"
            if image.width * image.height > MAX_PIXELS:
                return f"is too large ({image.width}x{image.height} pixels)"
            image.load()  # decodes every byte: a truncated file fails here
    except Image.DecompressionBombError:
        return "is too large (too many pixels)"
    except UnidentifiedImageError:
        return f"is not a {claimed} (it reads as {_what_it_is(data)})"
    except (OSError, SyntaxError, ValueError) as exc:
        return f"is a truncated or damaged {claimed} ({str(exc)[:80]})"
    return None


def _video_problem(data: bytes, claimed: str) -> str | None:
    found = _container(data)
    if (found == "ftyp" and claimed in ("MP4", "MOV")) or (
        found == "EBML" and claimed in ("WebM", "Matroska")
    ):
        return None
    return f"is not {_article(claimed)} {claimed} (it reads as {_what_it_is(data)})"


def _container(data: bytes) -> str | None:
    # ISO base media (MP4, MOV): the first box is `ftyp`, its 32-bit size first.
    if len(data) >= 8 and data[4:8] == b"ftyp" and int.from_bytes(data[:4], "big") >= 8:
        return "ftyp"
    if data.startswith(EBML_MAGIC):
        return "EBML"
    return None


def _what_it_is(data: bytes) -> str:
    """A short name for what the bytes look like, for the refusal message."""
    head = data[:SNIFF_BYTES]
    container = _container(head)
    if container:
        return "MP4/MOV" if container == "ftyp" else "WebM/Matroska"
    for magic, name in ((b"\xff\xd8\xff", "JPEG"), (b"\x89PNG", "PNG"), (b"GIF8", "GIF")):
        if head.startswith(magic):
            return f"a damaged {name}"
    if not head:
        return "an empty file"
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n").lower()
    if re.search(r"<svg[\s>]", text):
        return "SVG"
    if text.startswith("<") and HTML_TAG.search(text):
        return "HTML"
    if text.startswith("<"):
        return "XML"
    if text.startswith(("{", "[")):
        return "JSON"
    if "\ufffd" not in text and all(ch.isprintable() or ch in "\t\r\n" for ch in text):
        return "text"
    return "unrecognised bytes"


def _article(name: str) -> str:
    return "an" if name == "MP4" else "a"
