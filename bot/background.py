"""Work an adapter starts after it has answered the platform, kept where it can be awaited.

A platform wants its request acknowledged within seconds, so adapters acknowledge first and
hand the work here. The tasks are held (asyncio keeps only weak references to running tasks),
awaited by tests and benchmarks through `wait_idle`, and cancelled when the adapter stops. An
exception nobody caught is logged once, with its traceback, when its task ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any


class Background:
    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()  # retrieved here, so asyncio does not warn about it again
        if exc is not None:
            self._log.error("background work failed", exc_info=exc)

    async def wait_idle(self) -> None:
        """Until every task spawned so far, and every task those spawned, has ended."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def cancel_all(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
