"""Everything the handlers need, built once by `bot.bootstrap` and passed in, never changed.

A handler takes `Deps` and its command; what it touches is named here, each built before the
room exists: storage, the pipeline, the queue, the outlets (where posts are published), the
chat ports, the two services that put things into chat (exactly-once posting and run
progress), and the signed links to the web pages.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from handlers.links import ShareLinks
from handlers.people import Roles
from handlers.ports import ChatPort, ChatPorts
from handlers.posting import Posting
from handlers.progress import Progress
from pipeline.destinations.outlets import Outlets
from pipeline.media import MediaStore
from pipeline.personas import Personas
from pipeline.queue import RunQueue
from pipeline.runner import Pipeline
from storage.db import Database
from storage.sealing import Sealer

# `/help setup`: the doctor's findings that are not ok, one line each (bot/doctor.py).
SetupReport = Callable[[], Awaitable[list[str]]]


@dataclass(frozen=True)
class Rules:
    roles: Roles
    approvals_required: int = 1
    allow_self_approval: bool = False
    max_items: int = 10
    max_text_chars: int = 2000
    approval_expiry_hours: float = 72.0


@dataclass(frozen=True)
class Deps:
    db: Database
    pipeline: Pipeline
    queue: RunQueue
    personas: Personas
    outlets: Outlets
    media: MediaStore
    rules: Rules
    ports: ChatPorts
    posting: Posting
    progress: Progress
    links: ShareLinks
    clock: Callable[[], float] = time.time
    setup_report: SetupReport | None = None
    # This process, as the owner of what it works on (storage/processes.py).
    process: str = "local"
    # Seals the destination credentials a workspace enters (SECRETS_KEY); None: none can be.
    sealer: Sealer | None = None

    def port(self, platform: str) -> ChatPort:
        return self.ports.get(platform)
