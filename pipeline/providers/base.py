"""The three provider interfaces the pipeline calls, and the errors they raise.

A provider does one call and reports what it cost and how long the provider took. It never
retries: `pipeline.retry` is the only retry layer, and it decides from `ProviderError.retryable`
and `ProviderError.retry_after`. Real providers plug in here without touching handlers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel


class ProviderError(Exception):
    """A provider call failed. `message` is safe to show in chat: it never contains a key."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status


class StepSkipped(Exception):  # noqa: N818 - it is an outcome, not a failure
    """The provider cannot do this step here (for example: offline has no video model)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TextRequest:
    """One structured-output call.

    `instructions` is ours; `data` is everything that came from people or earlier output
    (ideas, notes, thread replies, posts). Providers send `data` as quoted JSON, apart from the
    instructions, so user text is never read as instructions.
    """

    task: str
    instructions: str
    data: dict[str, Any]
    schema: type[BaseModel]
    max_tokens: int = 2000
    repair_errors: str | None = None


@dataclass(frozen=True)
class TextResult:
    text: str
    provider: str
    model: str
    cost_usd: float | None  # None means the provider did not say: unknown, not free
    latency_s: float
    finish_reason: str | None = None


class TextProvider(Protocol):
    name: str
    model: str

    def estimate_cost(self, request: TextRequest) -> float:
        """An upper bound in USD, used for the budget check before the call."""
        ...

    async def complete(self, request: TextRequest) -> TextResult: ...


@dataclass(frozen=True)
class MediaRequest:
    kind: str  # "image" or "video"
    prompt: str
    aspect_ratio: str = "16:9"
    headline: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # What a renderer that draws the clip itself uses (pipeline/providers/local_video.py); a
    # remote model is sent the prompt instead.
    script: str = ""
    handle: str = ""  # the persona's
    background: str | None = None  # a picture file to draw over (the poster frame)


@dataclass(frozen=True)
class MediaResult:
    data: bytes
    extension: str  # without the dot: "png", "jpeg", "mp4"
    content_type: str
    provider: str
    model: str
    cost_usd: float | None
    latency_s: float  # from submit to result, as the seed's "api 19.5s"
    poster: bytes | None = None  # a PNG still to show before the clip plays, saved beside it


class MediaProvider(Protocol):
    """Queue-shaped: `submit` returns a JSON-able handle that the step stores before `fetch`
    waits on it, so a restart fetches the same request instead of paying for a new one."""

    name: str
    model: str

    def estimate_cost(self, request: MediaRequest) -> float: ...

    async def submit(self, request: MediaRequest) -> dict[str, Any]: ...

    async def fetch(self, handle: dict[str, Any]) -> MediaResult: ...

    async def cancel(self, handle: dict[str, Any]) -> None: ...
