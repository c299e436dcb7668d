"""Reserving the daily budget for what a command is about to spend, inside the transaction that
writes the command's rows: refused, the transaction rolls back and nothing of it is kept."""

from __future__ import annotations

from aiosqlite import Connection

from handlers.deps import Deps
from handlers.ports import UserError
from pipeline.budget import BudgetExceeded, Reservation
from storage.models import Post


async def reserve_call(
    deps: Deps, conn: Connection, estimate: float, *, step_id: int
) -> Reservation:
    """A text call outside any run (a plan, a refinement, an answer) recorded on `step_id`."""
    try:
        return await deps.pipeline.budget.reserve_call(conn, estimate, step_id=step_id)
    except BudgetExceeded as exc:
        raise UserError(str(exc)) from None


async def reserve_revision(deps: Deps, conn: Connection, post: Post, note: str | None) -> None:
    """A new revision of `post` (🔁 or a note in its thread): its run reserves what it may cost."""
    estimate = await deps.pipeline.estimate_revision(post, note)
    try:
        await deps.pipeline.budget.add_to_run(conn, post.run_id, estimate)
    except BudgetExceeded as exc:
        raise UserError(str(exc)) from None
