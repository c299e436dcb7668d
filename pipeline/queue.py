"""The run queue and its workers.

`RunQueue` is the small interface handlers and workers use; `SqliteRunQueue` keeps the queue in
the `runs` table and runs it in this process (on either database: claiming is one write, so
processes sharing a PostgreSQL database never claim one run twice). A job queue (procrastinate)
can replace it without touching handlers. What a stopped process left running is taken over by
the room (storage/processes.py), which then enqueues it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from storage import plans
from storage.db import Database

log = logging.getLogger(__name__)


class RunQueue(Protocol):
    async def enqueue(self, run_id: int) -> None: ...

    def ready(self) -> None:
        """This process is registered as an owner: work may be taken here from now on."""
        ...

    async def claim(self) -> int | None: ...

    async def defer_publication(self, post_id: int) -> bool:
        """True when a job will publish the post; False: the caller publishes it now."""
        ...

    async def settle(self) -> None:
        """Until the work this process handed to jobs is done (nothing when there are none)."""
        ...

    async def wait_for_work(self, timeout: float) -> None: ...


class SqliteRunQueue:
    def __init__(self, db: Database, *, owner: str = "local") -> None:
        self.db = db
        self.owner = owner
        self._wakeup = asyncio.Event()

    async def enqueue(self, run_id: int) -> None:
        """Runs are created queued in the caller's transaction; this only wakes the workers."""
        self._wakeup.set()

    def ready(self) -> None:
        return None  # this process's run workers claim from the table as soon as they start

    async def claim(self) -> int | None:
        async with self.db.transaction() as conn:
            return await plans.claim_next_run(conn, self.owner)

    async def defer_publication(self, post_id: int) -> bool:
        return False  # published in the caller's process, as the approval or sweep happens

    async def settle(self) -> None:
        return None

    async def wait_for_work(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._wakeup.wait()
        self._wakeup.clear()


class Workers:
    """A fixed number of workers that claim runs and execute them."""

    def __init__(
        self,
        queue: RunQueue,
        execute: Callable[[int], Awaitable[None]],
        on_crash: Callable[[int, BaseException], Awaitable[None]],
        *,
        count: int,
    ) -> None:
        self.queue = queue
        self.execute = execute
        self.on_crash = on_crash
        self.count = count
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._loop(), name=f"worker-{i}") for i in range(self.count)
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _loop(self) -> None:
        while True:
            run_id = await self.queue.claim()
            if run_id is None:
                await self.queue.wait_for_work(timeout=1.0)
                continue
            try:
                await self.execute(run_id)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug must fail the run, not the worker
                log.exception("run %d crashed", run_id)
                await self.on_crash(run_id, exc)
