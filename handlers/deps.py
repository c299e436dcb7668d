"""Everything the handlers need, built once by `bot.bootstrap` and passed in."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from handlers.people import Roles
from handlers.ports import ChatPort, UserError
from pipeline.media import MediaStore
from pipeline.personas import Personas
from pipeline.publisher import Publisher
from pipeline.queue import RunQueue
from pipeline.runner import Pipeline
from storage.db import Database

if TYPE_CHECKING:
    from handlers.delivery import Delivery


@dataclass(frozen=True)
class Rules:
    roles: Roles
    approvals_required: int = 1
    allow_self_approval: bool = False
    max_items: int = 10
    max_text_chars: int = 2000


@dataclass
class Deps:
    db: Database
    pipeline: Pipeline
    queue: RunQueue
    personas: Personas
    publisher: Publisher
    media: MediaStore
    rules: Rules
    clock: Callable[[], float] = time.time
    ports: dict[str, ChatPort] = field(default_factory=dict)
    publishing: set[int] = field(default_factory=set)  # post ids being published right now
    delivery: Delivery = field(init=False)

    def port(self, platform: str) -> ChatPort:
        try:
            return self.ports[platform]
        except KeyError:
            raise UserError(f"{platform} is not connected in this process.") from None
