"""Where each persona's approved posts go: its networks (Bluesky, Mastodon, X) and the install's
own publisher (a webhook or the outbox folder), built once by the composition root."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pipeline.destinations.base import Destination
from pipeline.publisher import Publisher

LEGACY_KINDS = ("webhook", "outbox")


@dataclass(frozen=True)
class Outlet:
    kind: str  # bluesky, mastodon, x, webhook, outbox
    name: str  # shown in chat and on the page; never a secret
    network: Destination | None = None  # a social network
    publisher: Publisher | None = None  # the install's webhook or outbox

    def key(self, post_id: int, rev: int) -> str:
        """The idempotency key, fixed per post revision and destination. The install's own
        publisher keeps the key it always had, so a post mid-publish across an upgrade is
        sent again under the key it was first sent with."""
        base = f"draftroom-post-{post_id}-rev-{rev}"
        return base if self.kind in LEGACY_KINDS else f"{base}-{self.kind}"


# A workspace's own outlets for a persona, built from what its admins entered (storage
# workspace_destinations, by the composition root); () where it entered none.
OwnOutlets = Callable[[str, str], Awaitable[tuple[Outlet, ...]]]
KEPT_S = 60.0  # how long a workspace's outlets are kept before they are read again


class Outlets:
    def __init__(
        self,
        by_persona: dict[str, tuple[Outlet, ...]],
        default: tuple[Outlet, ...],
        *,
        own: OwnOutlets | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._by_persona = by_persona
        self._default = default
        self._own = own
        self._clock = clock
        self._kept: dict[tuple[str, str], tuple[float, tuple[Outlet, ...]]] = {}
        self._retired: list[Outlet] = []  # replaced, perhaps still publishing: closed at close()

    def of(self, persona: str) -> tuple[Outlet, ...]:
        """Where the persona publishes by the personas file (and the install's own publisher)."""
        return self._by_persona.get(persona) or self._default

    async def of_workspace(self, persona: str, workspace: str | None) -> tuple[Outlet, ...]:
        """Where the persona publishes from `workspace`: the destinations its admins entered for
        it, else the personas file's. Kept a minute (another process may change them)."""
        if workspace is None or self._own is None:
            return self.of(persona)
        key = (workspace, persona)
        kept = self._kept.get(key)
        if kept is None or self._clock() - kept[0] >= KEPT_S:
            if kept is not None:
                self._retired.extend(kept[1])
            kept = (self._clock(), await self._own(workspace, persona))
            self._kept[key] = kept
        return kept[1] or self.of(persona)

    def forget(self, workspace: str) -> None:
        """The workspace's destinations changed: read them again at the next post."""
        for key in [k for k in self._kept if k[0] == workspace]:
            self._retired.extend(self._kept.pop(key)[1])

    async def close(self) -> None:
        kept = [outlet for _, outlets in self._kept.values() for outlet in outlets]
        filed = [outlet for outlets in self._by_persona.values() for outlet in outlets]
        for outlet in (*filed, *kept, *self._retired):
            if outlet.network is not None:
                with contextlib.suppress(Exception):
                    await outlet.network.close()
