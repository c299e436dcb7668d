"""The one retry layer: backoff with jitter, `Retry-After` honoured, every attempt recorded."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from pipeline.providers.base import ProviderError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    base_s: float = 1.0
    max_backoff_s: float = 60.0
    timeout_s: float = 300.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Full-jitter exponential backoff, never sooner than the provider asked."""
        backoff = random.uniform(0, min(self.max_backoff_s, self.base_s * 2 ** (attempt - 1)))
        return max(backoff, retry_after or 0.0)


class CoolDown:
    """A `Retry-After` is about the provider, not the one request it answered: until it has
    passed, no call to that provider makes an attempt, whether a retry or a first try."""

    def __init__(self) -> None:
        self._until = 0.0

    def hold(self, seconds: float | None) -> None:
        if seconds:
            self._until = max(self._until, time.monotonic() + seconds)

    async def wait(self) -> None:
        left = self._until - time.monotonic()
        while left > 0:  # a pause asked for meanwhile may end later
            await asyncio.sleep(left)
            left = self._until - time.monotonic()


async def call_with_retries(
    attempt_fn: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    before_attempt: Callable[[int], Awaitable[None]],
    after_failure: Callable[[int, ProviderError], Awaitable[None]],
    cool_down: CoolDown | None = None,
) -> T:
    """Run `attempt_fn` until it succeeds, fails for good, or runs out of attempts.

    `before_attempt` runs before each try (budget check, attempt count on the step);
    `after_failure` records a failed try that will be retried. `cool_down` is shared by every
    call to the same provider.
    """
    cool_down = cool_down or CoolDown()
    attempt = 0
    while True:
        attempt += 1
        await cool_down.wait()
        await before_attempt(attempt)
        try:
            async with asyncio.timeout(policy.timeout_s):
                return await attempt_fn()
        except TimeoutError:
            error = ProviderError(
                f"no answer within {policy.timeout_s:g}s (step timeout)", retryable=True
            )
        except ProviderError as exc:
            error = exc
        cool_down.hold(error.retry_after)
        if not error.retryable or attempt >= policy.max_attempts:
            if error.retryable:
                raise ProviderError(
                    f"{error.message} (gave up after {attempt} attempts)", status=error.status
                ) from error
            raise error
        await after_failure(attempt, error)
        await asyncio.sleep(policy.delay(attempt, error.retry_after))
