"""Every provider call of the pipeline: its budget reservation, retries and attempt counting.

A call draws on a `Reservation` (pipeline/budget.py): the caller's (a handler's, taken with
the rows it writes, or that of the run step being done), or failing that one of its own,
released when it returns. Before each provider request the reservation is made to cover it, in
the transaction that counts the attempt on the step.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from pydantic import BaseModel

from pipeline.budget import Budget, Reservation
from pipeline.providers.base import (
    MediaProvider,
    MediaRequest,
    MediaResult,
    ProviderError,
    TextProvider,
    TextRequest,
    TextResult,
)
from pipeline.retry import CoolDown, RetryPolicy, call_with_retries
from pipeline.structured import Check, Structured, ask
from storage import steps
from storage.db import Database
from storage.models import Step

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


@dataclass(frozen=True)
class Providers:
    text: TextProvider
    images: MediaProvider
    video: MediaProvider


@dataclass(frozen=True)
class Limits:
    """How many calls of each kind may be in flight at once, across every run."""

    text: int = 4
    image: int = 4
    video: int = 2


class PaidCalls:
    def __init__(
        self,
        db: Database,
        providers: Providers,
        budget: Budget,
        *,
        retry: RetryPolicy,
        limits: Limits,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.providers = providers
        self.budget = budget
        self.retry = retry
        self.clock = clock
        self._slots = {
            "text": asyncio.Semaphore(limits.text),
            "image": asyncio.Semaphore(limits.image),
            "video": asyncio.Semaphore(limits.video),
        }
        self._cool_downs: dict[str, CoolDown] = {}  # by provider name
        # Card rendering runs in threads and holds a few full-size images each: one per core at
        # once keeps a burst of finished hero images from multiplying the peak memory.
        self.render_slots = asyncio.Semaphore(max(1, os.cpu_count() or 1))

    async def _attempts(
        self,
        provider: str,
        reservation: Reservation,
        estimate: float,
        attempt_fn: Callable[[], Awaitable[T]],
        *,
        counts: bool = True,
    ) -> T:
        """`counts=False` for waiting on a request already submitted: not a new attempt."""
        step_id = reservation.step_id

        async def before(attempt: int) -> None:
            grow = reservation.shortfall(estimate) > 0
            mark = step_id is not None and (counts or attempt > 1)
            if grow or mark:
                async with self.db.transaction() as conn:
                    if grow:
                        await self.budget.reserve(conn, reservation, estimate)
                    if mark and step_id is not None:
                        await steps.mark_running(
                            conn, step_id, now=self.clock(), owner=self.budget.owner
                        )

        async def failed(attempt: int, error: ProviderError) -> None:
            if step_id is not None:
                async with self.db.transaction() as conn:
                    await steps.note_error(conn, step_id, f"attempt {attempt}: {error.message}")

        return await call_with_retries(
            attempt_fn,
            self.retry,
            before_attempt=before,
            after_failure=failed,
            cool_down=self._cool_downs.setdefault(provider, CoolDown()),
        )

    async def text_call(
        self,
        request: TextRequest,
        check: Check[M] | None = None,
        *,
        reservation: Reservation | None = None,
    ) -> Structured[M]:
        """A structured text call with its budget reservation, retries and attempt counting.

        The reservation is the caller's, settled where the cost is recorded; without one the
        call takes its own and releases it when it returns (nobody records its cost)."""
        claim = reservation or Reservation()
        provider = self.providers.text
        tries = 0

        async def attempt(req: TextRequest, estimate: float) -> TextResult:
            nonlocal tries
            tries += 1
            result = await provider.complete(req)
            claim.record(result.cost_usd, estimate)
            return result

        async def one(req: TextRequest) -> TextResult:
            estimate = provider.estimate_cost(req)  # a repair round asks more than the first
            async with self._slots["text"]:
                return await self._attempts(
                    provider.name, claim, estimate, lambda: attempt(req, estimate)
                )

        try:
            return replace(await ask(one, request, check), attempts=tries)
        finally:
            if reservation is None:
                await asyncio.shield(self.budget.release(self.db, claim))

    async def media_call(
        self,
        step: Step,
        reservation: Reservation,
        provider: MediaProvider,
        request: MediaRequest,
        slot: str,
    ) -> MediaResult:
        """Submit (unless `step` stored a request already), commit the handle, then wait."""
        estimate = provider.estimate_cost(request)
        handle: dict[str, Any] | None = json.loads(step.handle_json) if step.handle_json else None
        async with self._slots[slot]:
            if handle is None:
                submitted = await self._attempts(
                    provider.name, reservation, estimate, lambda: provider.submit(request)
                )
                async with self.db.transaction() as conn:
                    await steps.save_handle(conn, step.id, submitted)
                handle = submitted
            waiting_on = handle
            try:
                result = await self._attempts(
                    provider.name,
                    reservation,
                    0.0,
                    lambda: provider.fetch(waiting_on),
                    counts=False,
                )
            except ProviderError:
                # The step has failed for good: nothing will fetch this request again, so stop
                # it rather than let it run (and be billed) after a timeout.
                await self._cancel_quietly(provider, waiting_on)
                raise
            reservation.record(result.cost_usd, estimate)
            return result

    async def _cancel_quietly(self, provider: MediaProvider, handle: dict[str, Any]) -> None:
        with contextlib.suppress(ProviderError, TimeoutError):
            async with asyncio.timeout(self.retry.timeout_s):
                await provider.cancel(handle)
