"""Which gateway shards this process serves: those of `SHARD_IDS` whose lock it holds.

A shard is connected only after its lock is taken, and disconnected when the lock is lost, so two
processes on one database never both answer one shard. A shard another process holds is tried
again every `retry_s`; when that process dies its lock goes with it, and a standby takes over.
The locks live in the database (storage/gateway_locks.py, handed over by bot/bootstrap.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

log = logging.getLogger(__name__)

RETRY_S = 5.0


class ShardLocks(Protocol):
    """storage.gateway_locks.GatewayLocks, as the adapter uses it."""

    async def try_hold(self, shard_id: int) -> bool: ...

    async def release(self, shard_id: int) -> None: ...

    async def still_held(self) -> frozenset[int]: ...


class Unshared:
    """No lock at all: the process is alone, every shard it names is its own."""

    def __init__(self) -> None:
        self._held: set[int] = set()

    async def try_hold(self, shard_id: int) -> bool:
        self._held.add(shard_id)
        return True

    async def release(self, shard_id: int) -> None:
        self._held.discard(shard_id)

    async def still_held(self) -> frozenset[int]:
        return frozenset(self._held)


class ShardOwnership:
    """Takes the locks of the wanted shards it can, connecting each shard it takes."""

    def __init__(
        self,
        wanted: list[int],
        locks: ShardLocks,
        *,
        connect: Callable[[int], Awaitable[None]],
        disconnect: Callable[[int], Awaitable[None]],
        retry_s: float = RETRY_S,
    ) -> None:
        self.wanted = wanted
        self.locks = locks
        self.connect = connect
        self.disconnect = disconnect
        self.retry_s = retry_s
        self.served: set[int] = set()
        self.given_up: set[int] = set()
        self.rounds = 0
        self._task: asyncio.Task[None] | None = None

    async def take_free(self) -> list[int]:
        """One round: let go of shards whose lock was lost, take and connect the free ones."""
        self.rounds += 1
        held = await self.locks.still_held()
        for shard_id in sorted(self.served - held):
            log.error("Discord: lost the lock of shard %d; disconnecting it", shard_id)
            await self._let_go(shard_id)
        taken = []
        for shard_id in self.wanted:
            if shard_id in self.served or shard_id in self.given_up:
                continue
            if not await self.locks.try_hold(shard_id):
                continue
            self.served.add(shard_id)
            taken.append(shard_id)
            try:
                await self.connect(shard_id)
            except Exception:
                await self.give_up(shard_id)
                raise
        if taken:
            log.info("Discord: serving shard(s) %s of %s", taken, self.wanted)
        return taken

    async def give_up(self, shard_id: int) -> None:
        """A shard whose connection ended for good (a bad token, intents not allowed): its lock
        goes to whoever can serve it, and this process does not try it again."""
        self.given_up.add(shard_id)
        if shard_id in self.served:
            await self._let_go(shard_id)

    async def _let_go(self, shard_id: int) -> None:
        self.served.discard(shard_id)
        try:
            await self.disconnect(shard_id)
        finally:
            await self.locks.release(shard_id)

    def keep_trying(self) -> None:
        self._task = asyncio.create_task(self._retry_forever(), name="discord shard locks")

    async def _retry_forever(self) -> None:
        while True:
            await asyncio.sleep(self.retry_s)
            try:
                await self.take_free()
            except Exception:
                log.exception("Discord: taking over a shard failed; trying again")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for shard_id in sorted(self.served):
            with contextlib.suppress(Exception):
                await self._let_go(shard_id)
