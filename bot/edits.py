"""Edits of a message spaced by a platform's interval, later cards folding into the pending edit.

The core edits a progress message on every change; the platforms allow far fewer edits than a
fast run makes. Each port owns its platform's limit and passes it in as `interval`. An edit
that arrives while another waits for its turn replaces that edit's card, and both callers return
when it is applied (or both see its error), so a caller never returns before its card, or a
newer one, is on screen, and a burst of changes costs one call per interval.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from handlers.ports import Card

# Forget when a message was last edited once that no longer delays anything.
_PRUNE_AT = 1000


@dataclass
class _Pending:
    card: Card
    done: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class EditCoalescer:
    def __init__(
        self,
        apply: Callable[[tuple[str, str], Card], Awaitable[None]],
        *,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._apply = apply
        self._interval = interval
        self._clock = clock
        self._last: dict[tuple[str, str], float] = {}
        self._pending: dict[tuple[str, str], _Pending] = {}
        # Held while a message's edit waits for its turn and is applied: the next one waits for
        # that edit's answer, never goes out beside it.
        self._turns: dict[tuple[str, str], asyncio.Lock] = {}

    async def edit(self, message: tuple[str, str], card: Card) -> None:
        pending = self._pending.get(message)
        if pending is not None:
            pending.card = card
            await asyncio.shield(pending.done)
            return
        pending = _Pending(card)
        pending.done.add_done_callback(_mark_retrieved)
        self._pending[message] = pending
        turn = self._turns.setdefault(message, asyncio.Lock())
        try:
            async with turn:
                try:
                    await self._wait_turn(message)
                finally:
                    del self._pending[message]
                try:
                    await self._apply(message, pending.card)
                finally:
                    # Counted from the answer, not the request: the next edit then reaches the
                    # platform at least `interval` after this one did, however long either took.
                    self._last[message] = self._clock()
        except Exception as exc:
            pending.done.set_exception(exc)
            raise
        except BaseException:
            pending.done.cancel()
            raise
        finally:
            if self._pending.get(message) is pending:  # cancelled before its turn came
                del self._pending[message]
            if message not in self._pending and not turn.locked():  # nobody waits for a turn
                self._turns.pop(message, None)
        pending.done.set_result(None)

    async def _wait_turn(self, message: tuple[str, str]) -> None:
        wait = self._last.get(message, float("-inf")) + self._interval - self._clock()
        if wait > 0:
            await asyncio.sleep(wait)
        if len(self._last) > _PRUNE_AT:
            horizon = self._clock() - self._interval
            self._last = {k: t for k, t in self._last.items() if t > horizon}


def _mark_retrieved(future: asyncio.Future[None]) -> None:
    """An error nobody else waited for was raised to the first caller; don't warn about it."""
    if not future.cancelled():
        future.exception()
