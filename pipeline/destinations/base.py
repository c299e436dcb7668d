"""The contract every social network destination keeps (Bluesky, Mastodon, X).

A destination publishes one post's approved revision and says where it went. It is called again
after a crash or an unknown outcome with the same `Outgoing` (the same key), and must then find
the post it may already have made instead of making a second one: Mastodon by its
`Idempotency-Key`, Bluesky by a record key derived from the post and revision, X by looking at
the account's recent posts. The caller (handlers/publishing.py) keeps one publication record per
post and destination; the database row is the guard, the destination the means.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol


@dataclass(frozen=True)
class Image:
    path: Path
    alt: str
    content_type: str = "image/png"


@dataclass(frozen=True)
class Outgoing:
    """What one destination is asked to publish."""

    post_id: int
    rev: int
    key: str  # the idempotency key: the same for this post, revision and destination, always
    text: str  # already fitted to this destination's limits (see Limits)
    created_at: float  # the post's creation time: fixed inputs for derived ids (Bluesky's TID)
    images: tuple[Image, ...] = ()
    video: Path | None = None


@dataclass(frozen=True)
class Placed:
    remote_id: str  # the network's id: an at:// URI, a status id, a post id
    url: str  # where a person reads the live post


class DestinationError(Exception):
    """A publish that did not (certainly) happen. `retryable`: worth trying again later with the
    same key (429, 5xx, a timeout); otherwise it fails for good (refused credentials, a post the
    network will never take). `unknown`: the request may have gone through, so the retry must
    look before it posts again."""

    def __init__(self, message: str, *, retryable: bool, unknown: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.unknown = unknown


@dataclass(frozen=True)
class Limits:
    """What a post must fit, checked before approval."""

    max_chars: int
    counting: Literal["graphemes", "characters", "weighted"]
    max_images: int
    max_image_bytes: int
    image_types: tuple[str, ...] = ("image/png", "image/jpeg")
    video: bool = False
    max_video_bytes: int = 0
    extra: dict[str, int] = field(default_factory=dict)


class Destination(Protocol):
    kind: str  # "bluesky", "mastodon", "x"
    name: str  # shown in chat and on the page, e.g. "bluesky @aiaaron.bsky.social"; no secret

    async def limits(self) -> Limits:
        """This destination's limits (Mastodon reads its instance's); cached by the caller."""
        ...

    def text_length(self, text: str) -> int:
        """The text's length as this network counts it against `Limits.max_chars` (Bluesky:
        graphemes; Mastodon: characters, a URL counts 23; X: weighted, a URL counts 23 and
        CJK and emoji count 2)."""
        ...

    async def publish(self, out: Outgoing) -> Placed:
        """Publish `out` once. Raises DestinationError. Safe to call again with the same `out`
        after any failure: finds what an earlier call made before making anything."""
        ...

    async def close(self) -> None: ...
