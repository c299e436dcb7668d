"""The daily budget: checked before every paid call, and reserved when a run starts."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from aiosqlite import Connection

from storage import plans, steps


class BudgetExceeded(Exception):  # noqa: N818 - a refusal the user reads
    def __init__(self, needed: float, left: float, daily: float) -> None:
        self.needed, self.left, self.daily = needed, left, daily
        super().__init__(
            f"over the daily budget: this needs up to ${needed:.2f} and ${left:.2f} of "
            f"${daily:.2f} is left today. Raise DAILY_BUDGET_USD or try again tomorrow (UTC)."
        )


def start_of_day(now: float) -> float:
    day = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day.timestamp()


class Budget:
    def __init__(self, daily_usd: float, clock: Callable[[], float] = time.time) -> None:
        self.daily_usd = daily_usd
        self.clock = clock

    async def left(self, conn: Connection, *, include_reservations: bool) -> float:
        spent = await steps.spent_since(conn, start_of_day(self.clock()))
        reserved = await plans.open_reservations(conn) if include_reservations else 0.0
        return self.daily_usd - spent - reserved

    async def check_run(self, conn: Connection, estimate: float) -> None:
        """Inside the transaction that creates the run, so concurrent starts cannot both pass."""
        if estimate <= 0:
            return
        left = await self.left(conn, include_reservations=True)
        if estimate > left + 1e-9:
            raise BudgetExceeded(estimate, max(left, 0.0), self.daily_usd)

    async def check_call(self, conn: Connection, estimate: float) -> None:
        """Before one paid call: what was really spent today plus this call must fit."""
        if estimate <= 0:
            return
        left = await self.left(conn, include_reservations=False)
        if estimate > left + 1e-9:
            raise BudgetExceeded(estimate, max(left, 0.0), self.daily_usd)
