"""Recording text calls made outside a run (plans, refinements, answers) as steps."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

from aiosqlite import Connection

from handlers.deps import Deps
from handlers.ports import UserError
from pipeline.budget import BudgetExceeded
from pipeline.providers.base import ProviderError
from pipeline.structured import Structured
from storage import steps

T = TypeVar("T", bound=Structured[Any])


async def recorded_call(deps: Deps, step_id: int, call: Awaitable[T], failure: str) -> T:
    """Await a text call recorded on `step_id`. A failure (or a cancellation) marks the step
    failed, so nothing is left "running"; a provider failure becomes `failure: <reason>`."""
    try:
        return await call
    except (ProviderError, BudgetExceeded) as exc:
        await _fail(deps, step_id, str(exc))
        raise UserError(f"{failure}: {exc}") from None
    except asyncio.CancelledError:
        await asyncio.shield(_fail(deps, step_id, "cancelled"))
        raise


async def _fail(deps: Deps, step_id: int, error: str) -> None:
    async with deps.db.transaction() as conn:
        await steps.finish_step(conn, step_id, status="failed", now=deps.clock(), error=error)


async def finish_text_step(
    conn: Connection, step_id: int, result: Structured[Any], *, now: float
) -> None:
    """Inside the transaction that stores what the call produced."""
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
