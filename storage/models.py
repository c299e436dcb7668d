"""Rows as typed records. Times are Unix seconds (UTC)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Self

from storage.db import Row

# Where a plan and its posts live, and the only place they are read, run and searched from:
# (platform, channel id). Channel ids are unique within a platform, so this scopes by workspace
# or server too.
Place = tuple[str, str]


class Record:
    @classmethod
    def from_row(cls, row: Row) -> Self:
        keys = set(row.keys())
        names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
        return cls(**{name: row[name] for name in names if name in keys})


@dataclass(frozen=True)
class Plan(Record):
    id: int
    persona: str
    pillar: str
    idea: str
    proposer: str
    platform: str
    channel_id: str
    current_rev: int
    created_at: float
    workspace: str | None = None  # `slack:T…`, `discord:<guild>`; None: the install's own rules
    number: int = 0  # what people see and type: counted within the workspace (`id` is the key)

    @property
    def place(self) -> Place:
        return (self.platform, self.channel_id)


@dataclass(frozen=True)
class PlanRevision(Record):
    plan_id: int
    rev: int
    angle: str
    rationale: str
    special_message: str
    spec_json: str
    closest_post_id: int | None
    note: str | None
    author: str
    created_at: float

    @property
    def text(self) -> str:
        return f"{self.angle}\n\n{self.rationale}"


@dataclass(frozen=True)
class Run(Record):
    id: int
    plan_id: int
    plan_rev: int
    status: str
    platform: str
    channel_id: str
    started_by: str
    reserved_usd: float
    error: str | None
    created_at: float
    finished_at: float | None
    number: int = 0  # what people see: counted within its plan's workspace


@dataclass(frozen=True)
class Post(Record):
    id: int
    run_id: int
    plan_id: int
    plan_rev: int
    item_index: int
    persona: str
    pillar: str
    content_format: str
    rev: int
    status: str
    status_changed_at: float
    headline: str
    body: str
    caption: str
    video_script: str
    error: str | None
    created_at: float
    platform: str = ""
    channel_id: str = ""
    number: int = 0  # what people see and type: counted within its plan's workspace

    @property
    def place(self) -> Place:
        return (self.platform, self.channel_id)


@dataclass(frozen=True)
class Publication(Record):
    post_id: int
    idempotency_key: str
    target: str
    location: str | None
    published_at: float | None
    error: str | None
    rev: int | None


@dataclass(frozen=True)
class Step(Record):
    id: int
    plan_id: int | None
    plan_rev: int | None
    run_id: int | None
    post_id: int | None
    post_rev: int | None
    position: int
    name: str
    status: str
    provider: str | None
    model: str | None
    artifact: str | None
    cost_usd: float | None
    cost_known: int
    latency_s: float | None
    started_at: float | None
    ended_at: float | None
    attempts: int
    error: str | None
    input_json: str | None
    handle_json: str | None
    output_json: str | None

    @property
    def finished(self) -> bool:
        return self.status in ("done", "skipped")


@dataclass(frozen=True)
class MessageLink(Record):
    platform: str
    channel_id: str
    message_id: str
    kind: str
    plan_id: int | None
    post_id: int | None
    run_id: int | None
    rev: int | None
    created_at: float

    @property
    def place(self) -> Place:
        return (self.platform, self.channel_id)


@dataclass(frozen=True)
class ChatReference(Record):
    turn_id: int
    post_id: int
    how: str
    platform: str
    channel_id: str
    thread_id: str | None
    message_id: str | None
    text: str
    created_at: float
    url: str | None = None


@dataclass(frozen=True)
class PostRevision(Record):
    post_id: int
    rev: int
    headline: str
    body: str
    caption: str
    video_script: str
    created_at: float


@dataclass(frozen=True)
class Share(Record):
    id: int
    kind: str
    target: int | None
    platform: str
    channel_id: str
    made_by: str
    created_at: float
    expires_at: float
    revoked_at: float | None
    revoked_by: str | None

    @property
    def place(self) -> Place:
        return (self.platform, self.channel_id)
