"""An instance's limits from `GET /api/v2/instance`, and the media of a post checked against them
before anything is uploaded."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.destinations.base import DestinationError, Limits, Outgoing

# Mastodon's own defaults, for an instance that leaves a field out.
DEFAULT_MAX_CHARACTERS = 500
DEFAULT_MAX_MEDIA = 4
DEFAULT_URL_WEIGHT = 23
DEFAULT_IMAGE_BYTES = 16 * 1024 * 1024
DEFAULT_VIDEO_BYTES = 99 * 1024 * 1024
DEFAULT_MEDIA_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "video/mp4")


def limits_from_instance(instance: Mapping[str, Any]) -> Limits:
    configuration = instance.get("configuration") or {}
    statuses = configuration.get("statuses") or {}
    media = configuration.get("media_attachments") or {}
    types = tuple(media.get("supported_mime_types") or DEFAULT_MEDIA_TYPES)
    video_types = tuple(kind for kind in types if kind.startswith("video/"))
    return Limits(
        max_chars=int(statuses.get("max_characters") or DEFAULT_MAX_CHARACTERS),
        counting="characters",
        max_images=int(statuses.get("max_media_attachments") or DEFAULT_MAX_MEDIA),
        max_image_bytes=int(media.get("image_size_limit") or DEFAULT_IMAGE_BYTES),
        image_types=tuple(kind for kind in types if kind.startswith("image/")),
        video="video/mp4" in video_types,
        max_video_bytes=int(media.get("video_size_limit") or DEFAULT_VIDEO_BYTES),
        extra={
            "characters_reserved_per_url": int(
                statuses.get("characters_reserved_per_url") or DEFAULT_URL_WEIGHT
            )
        },
    )


@dataclass(frozen=True)
class Upload:
    data: bytes
    content_type: str
    alt: str
    file_name: str


def media_to_upload(out: Outgoing, limits: Limits) -> list[Upload]:
    """The post's media, read and checked (count, type, size). Blocking: run it in a thread."""
    if out.video is not None:
        if out.images:
            raise _refused("Mastodon takes a video or images in one status, not both")
        if not limits.video:
            raise _refused("this Mastodon instance does not take MP4 video")
        return [_read(out.video, "video/mp4", "", limits.max_video_bytes)]
    if len(out.images) > limits.max_images:
        raise _refused(
            f"the post has {len(out.images)} images; this Mastodon instance takes "
            f"{limits.max_images}"
        )
    uploads = []
    for image in out.images:
        if image.content_type not in limits.image_types:
            raise _refused(
                f"{image.path.name} is {image.content_type}; this Mastodon instance takes "
                + ", ".join(limits.image_types)
            )
        uploads.append(_read(image.path, image.content_type, image.alt, limits.max_image_bytes))
    return uploads


def _read(path: Path, content_type: str, alt: str, max_bytes: int) -> Upload:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _refused(f"cannot read {path.name} to upload it ({exc.strerror})") from exc
    if len(data) > max_bytes:
        raise _refused(
            f"{path.name} is {len(data):,} bytes; this Mastodon instance takes {max_bytes:,}"
        )
    return Upload(data, content_type, alt, path.name)


def _refused(message: str) -> DestinationError:
    return DestinationError(message, retryable=False)
