"""Records of the fake Discord (calls, uploads, interactions) and its ids and timestamps."""

from __future__ import annotations

import datetime as dt
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

DISCORD_EPOCH_MS = 1420070400000


class Snowflakes:
    """Discord-style ids: milliseconds since 2015 << 22 | worker | increment, always rising."""

    def __init__(self) -> None:
        self._last = 0
        self._inc = itertools.count()

    def next(self) -> int:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        value = (ms << 22) | (1 << 17) | (next(self._inc) & 0xFFF)
        self._last = max(value, self._last + 1)
        return self._last


def iso(ts: float | None = None) -> str:
    """An ISO 8601 timestamp in Discord's format (microseconds, +00:00)."""
    moment = dt.datetime.fromtimestamp(time.time() if ts is None else ts, dt.UTC)
    return moment.isoformat(timespec="microseconds")


@dataclass
class Call:
    """One REST request as the fake saw it; ``path`` is relative to ``api_url``."""

    method: str
    path: str
    route: str | None  # template, e.g. "/channels/{channel_id}/messages"
    json: Any
    query: dict[str, str]
    files: list[UploadedFile]
    time: float  # time.monotonic()
    status: int = 0
    response: Any = None


@dataclass
class UploadedFile:
    filename: str
    data: bytes
    content_type: str | None
    field: str
    attachment_id: int | None = None
    channel_id: int | None = None
    message_id: int | None = None


@dataclass
class InteractionResponse:
    """One POST to ``/interactions/{id}/{token}/callback`` (``status`` shows if accepted)."""

    interaction_id: int
    token: str
    type: int | None
    data: dict[str, Any] | None
    status: int
    time: float
    elapsed: float  # seconds since the interaction was dispatched


@dataclass
class FakeInteraction:
    id: int
    token: str
    type: int  # 2 command, 3 component, 4 autocomplete, 5 modal submit
    data: dict[str, Any]
    user_id: int
    channel_id: int
    payload: dict[str, Any]
    created: float
    response_type: int | None = None
    ephemeral: bool = False
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    followup_edited_loading: bool = False
    opened_by: FakeInteraction | None = None  # a modal submit's: the interaction shown it

    @property
    def name(self) -> str | None:
        return self.data.get("name")
