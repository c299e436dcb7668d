"""This process's place among those sharing the database: it registers, beats while it runs,
takes over what stopped processes left (storage/processes.py), and hands back what it still
holds when it stops cleanly, so the next process need not wait out the lease."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from handlers.deps import Deps
from storage import plans, processes
from storage.liveness import LIVENESS_GRACE_BEATS, liveness
from storage.processes import TakenOver

log = logging.getLogger(__name__)


class ProcessLease:
    def __init__(self, deps: Deps, *, lease_s: float, heartbeat_s: float) -> None:
        self.deps = deps
        self.lease_s = lease_s
        self.heartbeat_s = heartbeat_s
        self.liveness = liveness(deps.db, deps.process)
        self._beating: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Register, and take over what the stopped processes left (on SQLite: everything the
        last process left, as restart recovery)."""
        await self.liveness.hold()
        async with self.deps.db.transaction() as conn:
            await processes.register(conn, self.deps.process, now=self.deps.clock())
        await self.take_over(at_start=True)
        self.deps.queue.ready()
        self._beating = asyncio.create_task(self._beat_forever(), name="process-heartbeat")

    async def take_over(self, *, at_start: bool = False) -> TakenOver:
        """Take over what stopped processes left and queue their runs again; every queued run
        is offered to the queue (a run whose enqueue a crash cut off is not stranded: the
        database row is the guard, the queue only the trigger)."""
        async with self.deps.db.transaction() as conn:
            taken = await processes.take_over(
                conn,
                self.deps.process,
                now=self.deps.clock(),
                lease_s=self.lease_s,
                grace_s=LIVENESS_GRACE_BEATS * self.heartbeat_s,
                at_start=at_start,
            )
        if taken:
            log.info("took over what a stopped process left: %s", taken)
        if taken.runs or at_start:
            for run_id in await plans.queued_runs(self.deps.db.reader):
                await self.deps.queue.enqueue(run_id)
        return taken

    async def stop(self) -> None:
        if self._beating is not None:
            self._beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._beating
            self._beating = None
        async with self.deps.db.transaction() as conn:
            handed = await processes.hand_back(conn, self.deps.process, now=self.deps.clock())
        await self.liveness.release()
        if handed:
            log.info("handed back on stopping: %s", handed)

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            try:
                await self.liveness.hold()  # again, if its connection was lost
                async with self.deps.db.transaction() as conn:
                    await processes.beat(conn, self.deps.process, now=self.deps.clock())
            except Exception:
                log.exception("the heartbeat failed; the next one tries again")
