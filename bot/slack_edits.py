"""Message edits at most once a second per message, later cards folding into the pending edit.

Slack allows about one `chat.update` a second per message. An edit that arrives while another is
waiting for its turn replaces that edit's card, and both callers return when it is applied (or
both see its error), so a caller never returns before its card, or a newer one, is on screen.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from handlers.ports import Card

MIN_INTERVAL_S = 1.0
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
        interval: float = MIN_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._apply = apply
        self._interval = interval
        self._clock = clock
        self._last: dict[tuple[str, str], float] = {}
        self._pending: dict[tuple[str, str], _Pending] = {}

    async def edit(self, message: tuple[str, str], card: Card) -> None:
        pending = self._pending.get(message)
        if pending is not None:
            pending.card = card
            await asyncio.shield(pending.done)
            return
        pending = _Pending(card)
        pending.done.add_done_callback(_mark_retrieved)
        self._pending[message] = pending
        try:
            await self._wait_turn(message)
        except BaseException:
            pending.done.cancel()
            raise
        finally:
            del self._pending[message]
        try:
            await self._apply(message, pending.card)
        except Exception as exc:
            pending.done.set_exception(exc)
            raise
        finally:
            # Counted from the answer, not the request: the next edit then reaches Slack at
            # least a second after this one did, however long either took on the way.
            self._last[message] = self._clock()
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
