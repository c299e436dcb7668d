"""The daily budget: every paid call reserves its estimate before it is made.

What today has committed is what steps spent today, plus every open call reservation, plus for
each queued or running run what it reserved and has neither spent nor reserved for a call yet.
A call outside a run may reserve `e` when `e <= daily - committed`; a call inside run R draws on
R's unused reservation first: `e <= unused(R) + (daily - committed)`. The check and the
reservation row are one write transaction (`BEGIN IMMEDIATE`), so concurrent reservers, in this
process or another, each see what the others reserved: of N calls at once, exactly the ones that
fit go ahead, and the others are refused before any provider request.

- A call reserves before its first provider request and grows its reservation before a further
  one (a repair round) when what it already used plus the new estimate no longer fits; a retry
  of a request that failed reuses it. What each finished request reported costing is counted.
- It is settled in the transaction that records the call's cost on its step, so the money is
  never counted twice or not at all; a call that fails records on its failed step what its
  finished requests cost, and the rest is released.
- A handler takes the reservation in the transaction that writes the command's rows (plan,
  step), so a refused command writes nothing.
- A run reserves its whole estimate when it starts (`check_run`). A new revision of an item (🔁,
  a note in the draft's thread) adds the item's estimate to its run's reservation under the same
  check, in the transaction that creates the revision (`add_to_run`).
- A crash leaves reservations open; they are settled when its work is taken over
  (storage/processes.py: at start on SQLite, after the lease on PostgreSQL): no call
  survives a restart, and what a step recorded is what was spent.
- Free calls (offline providers, unpriced models: estimate 0) reserve and write nothing.

- Budgets are per workspace (handlers/workspace_settings.py): a workspace with a daily budget of
  its own spends from it alone, and its running out refuses only its own calls; every other
  workspace and the install's own work (the console) share DAILY_BUDGET_USD, as before there
  were workspaces. A call's workspace is its step's or its run's plan's.

Limits: a request whose cost the provider does not report counts its estimate while the call
runs, then nothing (the step says "cost unknown"); runs reserve one round per text call, so a
repair round that no longer fits fails its step with the refusal, rather than run over budget.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from storage import reservations, workspace_settings
from storage.db import Connection, Database

_SLACK = 1e-9  # float sums of prices: a call that fits to the billionth of a cent fits


class BudgetExceeded(Exception):  # noqa: N818 - a refusal the user reads
    def __init__(self, needed: float, left: float, daily: float, *, own: bool = False) -> None:
        self.needed, self.left, self.daily = needed, left, daily
        raise_it = (
            "An admin can raise this workspace's daily budget in its draftroom settings"
            if own
            else "Raise DAILY_BUDGET_USD"
        )
        super().__init__(
            f"over the daily budget: this needs up to ${needed:.2f} and ${left:.2f} of "
            f"${daily:.2f} is left today. {raise_it}, or try again tomorrow (UTC)."
        )


@dataclass(frozen=True)
class Pool:
    """The money a call draws on: a workspace's own budget, or the shared one (`name` None)."""

    name: str | None
    daily_usd: float

    def exceeded(self, needed: float, left: float) -> BudgetExceeded:
        return BudgetExceeded(needed, max(left, 0.0), self.daily_usd, own=self.name is not None)


def start_of_day(now: float) -> float:
    day = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day.timestamp()


@dataclass
class Reservation:
    """One call's claim on the budget. Nothing is written until something is reserved."""

    run_id: int | None = None
    step_id: int | None = None
    id: int | None = None
    amount_usd: float = 0.0
    used_usd: float = 0.0  # finished requests: what they cost, or their estimate if unknown
    reported_usd: float = 0.0  # what finished requests reported costing

    def shortfall(self, estimate: float) -> float:
        """How much more a request estimated at `estimate` needs reserved."""
        return max(self.used_usd + estimate - self.amount_usd, 0.0)

    def record(self, cost: float | None, estimate: float) -> None:
        self.used_usd += estimate if cost is None else cost
        self.reported_usd += cost or 0.0


class Budget:
    def __init__(
        self, daily_usd: float, clock: Callable[[], float] = time.time, *, owner: str = "local"
    ) -> None:
        self.daily_usd = daily_usd
        self.clock = clock
        self.owner = owner  # the process its reservations belong to (storage/processes.py)

    async def pool(self, conn: Connection, workspace: str | None) -> Pool:
        row = None if workspace is None else await workspace_settings.get(conn, workspace)
        if row is None or row.daily_budget_usd is None:
            return Pool(None, self.daily_usd)
        return Pool(workspace, row.daily_budget_usd)

    async def _left(
        self, conn: Connection, pool: Pool, run_id: int | None = None
    ) -> tuple[float, float]:
        """(left in the pool, of which unused of run `run_id`)."""
        found = await reservations.position(
            conn, since=start_of_day(self.clock()), run_id=run_id, pool=pool.name
        )
        return pool.daily_usd - found.committed, found.unused_of_run

    async def _pool_of_call(self, conn: Connection, reservation: Reservation) -> Pool:
        workspace = await reservations.workspace_of_call(
            conn, step_id=reservation.step_id, run_id=reservation.run_id
        )
        return await self.pool(conn, workspace)

    async def reserve(self, conn: Connection, reservation: Reservation, estimate: float) -> None:
        """Inside a write transaction: make `reservation` cover a request estimated at
        `estimate`, or raise BudgetExceeded (and the caller's transaction rolls back)."""
        needed = reservation.shortfall(estimate)
        if needed <= _SLACK:
            return
        # A run's step usually fits what its run reserved: then the day's whole position (a sum
        # over every step today) need not be read, and a run's cost per step stays flat.
        fits_in_run = False
        if reservation.run_id is not None:
            money = await reservations.run_money(conn, reservation.run_id)
            fits_in_run = needed <= money.unused + _SLACK
        if not fits_in_run:
            pool = await self._pool_of_call(conn, reservation)
            free, unused = await self._left(conn, pool, reservation.run_id)
            if needed > free + unused + _SLACK:
                raise pool.exceeded(needed, free + unused)
        if reservation.id is None:
            reservation.id = await reservations.open_call(
                conn,
                amount_usd=needed,
                run_id=reservation.run_id,
                step_id=reservation.step_id,
                now=self.clock(),
                owner=self.owner,
            )
        else:
            await reservations.add_to_call(conn, reservation.id, needed)
        reservation.amount_usd += needed

    async def reserve_call(
        self, conn: Connection, estimate: float, *, step_id: int | None = None
    ) -> Reservation:
        """A call outside any run, reserved in the transaction that writes its rows."""
        reservation = Reservation(step_id=step_id)
        await self.reserve(conn, reservation, estimate)
        return reservation

    async def settle(self, conn: Connection, reservation: Reservation) -> None:
        """In the transaction that records the call's cost (or its failure) on its step."""
        if reservation.id is not None:
            await reservations.settle(
                conn, reservation.id, spent_usd=reservation.reported_usd, now=self.clock()
            )

    async def release(self, db: Database, reservation: Reservation) -> None:
        """Settle in a transaction of its own; a no-op for one already settled."""
        if reservation.id is not None:
            async with db.transaction() as conn:
                await self.settle(conn, reservation)

    async def check_run(
        self, conn: Connection, estimate: float, *, workspace: str | None = None
    ) -> None:
        """Inside the transaction that creates the run, so concurrent starts cannot both pass."""
        if estimate <= 0:
            return
        pool = await self.pool(conn, workspace)
        free, _ = await self._left(conn, pool)
        if estimate > free + _SLACK:
            raise pool.exceeded(estimate, free)

    async def add_to_run(self, conn: Connection, run_id: int, estimate: float) -> None:
        """Inside the transaction that starts a new revision of one of the run's items: the
        run's reservation grows by the item's estimate, which must fit what is left today. A
        finished run holds nothing, so it reserves exactly that again when it is requeued."""
        if estimate <= 0:
            return
        pool = await self._pool_of_call(conn, Reservation(run_id=run_id))
        free, _ = await self._left(conn, pool)
        if estimate > free + _SLACK:
            raise pool.exceeded(estimate, free)
        run = await reservations.run_money(conn, run_id)
        reserved = run.spent + run.open_calls + run.unused + estimate
        await reservations.set_run_reserved(conn, run_id, round(reserved, 9))
