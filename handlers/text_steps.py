"""Recording text calls made outside a run (plans, refinements, answers) as steps, and settling
their budget reservations in the same transactions (see pipeline/budget.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

from handlers.deps import Deps
from handlers.ports import UserError
from pipeline.budget import BudgetExceeded, Reservation
from pipeline.providers.base import ProviderError
from pipeline.structured import Structured
from storage import reservations, steps
from storage.db import Connection

T = TypeVar("T", bound=Structured[Any])


async def recorded_call(
    deps: Deps,
    step_id: int,
    call: Awaitable[T],
    failure: str,
    *,
    reservation: Reservation | None = None,
) -> T:
    """Await a text call recorded on `step_id`. A failure (or a cancellation) marks the step
    failed, so nothing is left "running"; a provider failure becomes `failure: <reason>`."""
    try:
        return await call
    except (ProviderError, BudgetExceeded) as exc:
        await _fail(deps, step_id, str(exc), reservation)
        raise UserError(f"{failure}: {exc}") from None
    except asyncio.CancelledError:
        await asyncio.shield(_fail(deps, step_id, "cancelled", reservation))
        raise


async def _fail(deps: Deps, step_id: int, error: str, reservation: Reservation | None) -> None:
    paid = reservation.reported_usd if reservation is not None else 0.0
    async with deps.db.transaction() as conn:
        await steps.finish_step(
            conn,
            step_id,
            status="failed",
            now=deps.clock(),
            error=error,
            cost_usd=paid or None,  # a first round before a failed repair round was paid
        )
        await reservations.settle_step(conn, step_id, spent_usd=paid, now=deps.clock())


async def finish_text_step(
    conn: Connection, step_id: int, result: Structured[Any], *, now: float
) -> None:
    """Inside the transaction that stores what the call produced; settles its reservation."""
    await steps.finish_step(
        conn,
        step_id,
        status="done",
        now=now,
        provider=result.provider,
        model=result.model,
        cost_usd=result.cost_usd,
        latency_s=result.latency_s,
    )
    await reservations.settle_step(conn, step_id, spent_usd=result.cost_usd or 0.0, now=now)
