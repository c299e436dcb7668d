"""Recording text calls made outside a run (plans, refinements, answers) as steps."""

from __future__ import annotations

from typing import Any

from handlers.deps import Deps
from pipeline.structured import Structured
from storage import steps


async def finish_text_step(
    deps: Deps, step_id: int, result: Structured[Any] | None, error: str | None = None
) -> None:
    async with deps.db.transaction() as conn:
        if result is None:
            await steps.finish_step(conn, step_id, status="failed", now=deps.clock(), error=error)
            return
        await steps.finish_step(
            conn,
            step_id,
            status="done",
            now=deps.clock(),
            provider=result.provider,
            model=result.model,
            cost_usd=result.cost_usd,
            latency_s=result.latency_s,
        )
