"""Real work for the acknowledgement benchmarks: a steady number of runs in flight.

`Load` keeps `runs` runs unfinished the whole time: a few plans are proposed ahead (plan cards
go to the platform), and whenever runs finish new ones are started at once, so steps keep
running and committing, drafts and images are posted and progress messages edited while
commands are measured. It samples how many runs are in flight, and counts the steps committed
inside a window of wall-clock time.
"""

from __future__ import annotations

import asyncio
import time

from bench.common import database
from bot.bootstrap import App
from handlers.ports import Invocation

SAMPLE_EVERY_S = 0.05
PLANS_AHEAD = 200  # about as many runs as finish during a measurement, proposed while idle


class Load:
    def __init__(self, app: App, inv: Invocation, runs: int, special: str) -> None:
        self.app, self.inv, self.runs, self.special = app, inv, runs, special
        self.samples: list[tuple[float, int]] = []  # (time.time(), runs unfinished)
        self._proposed = 0
        self._ready: asyncio.Queue[int] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._starting: set[asyncio.Task[None]] = set()
        self._stopping = False

    async def unfinished(self) -> int:
        sql = "SELECT COUNT(*) FROM runs WHERE status IN ('queued', 'running')"
        return int(await database(self.app).scalar(sql))

    async def _propose_one(self) -> None:
        self._proposed += 1
        idea = f"benchmark idea number {self._proposed}"
        await self.app.room.command(self.inv, "propose", f'{idea} special:"{self.special}"')
        plan_id = await database(self.app).scalar("SELECT id FROM plans WHERE idea = ?", (idea,))
        self._ready.put_nowait(int(plan_id))

    async def _propose_ahead(self) -> None:
        while not self._stopping:
            if self._ready.qsize() < PLANS_AHEAD:
                await self._propose_one()
            else:
                await asyncio.sleep(SAMPLE_EVERY_S)

    async def _run(self) -> None:
        plan_id = await self._ready.get()
        await self.app.room.command(self.inv, "run", str(plan_id))

    async def _top_up(self) -> None:
        while not self._stopping:
            unfinished = await self.unfinished()
            self.samples.append((time.time(), unfinished))
            for _ in range(self.runs - unfinished - len(self._starting)):
                task = asyncio.create_task(self._run())
                self._starting.add(task)
                task.add_done_callback(self._starting.discard)
            await asyncio.sleep(SAMPLE_EVERY_S)

    async def start(self, within: float = 300.0) -> None:
        """Start the runs, and return once all of them are in flight."""
        for _ in range(PLANS_AHEAD):
            await self._propose_one()
        self._tasks = [
            asyncio.create_task(self._propose_ahead(), name="bench-proposals"),
            asyncio.create_task(self._top_up(), name="bench-runs"),
        ]
        async with asyncio.timeout(within):
            while not self.samples or self.samples[-1][1] < self.runs:  # noqa: ASYNC110
                await asyncio.sleep(SAMPLE_EVERY_S)

    async def stop(self) -> None:
        """Stop starting runs. Nothing is cancelled: a command cancelled while it opens a write
        leaves the room's writer connection inside a transaction (storage/db.py, `transaction`)."""
        self._stopping = True
        await asyncio.gather(*self._tasks)
        while self._starting:
            if self._ready.empty():
                await self._propose_one()
            await asyncio.sleep(SAMPLE_EVERY_S)

    def in_flight(self, since: float, until: float) -> tuple[int, float]:
        """The fewest and the mean number of runs in flight sampled in the window."""
        seen = [n for at, n in self.samples if since <= at <= until]
        return min(seen, default=0), sum(seen) / max(len(seen), 1)

    async def steps_committed(self, since: float, until: float) -> int:
        sql = "SELECT COUNT(*) FROM steps WHERE status = 'done' AND ended_at BETWEEN ? AND ?"
        return int(await database(self.app).scalar(sql, (since, until)))
