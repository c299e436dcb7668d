"""Refusals raised below the handlers (the budget, the personas file, the batch spec) become what
the user reads, in one place: the room's entry points."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from handlers.ports import UserError
from pipeline.budget import BudgetExceeded
from pipeline.personas import PersonaError
from pipeline.spec import SpecError

REFUSALS = (BudgetExceeded, PersonaError, SpecError)


@contextlib.contextmanager
def refusals_as_user_errors() -> Iterator[None]:
    try:
        yield
    except REFUSALS as exc:
        raise UserError(str(exc)) from None
