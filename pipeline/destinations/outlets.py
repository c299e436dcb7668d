"""Where each persona's approved posts go: its networks (Bluesky, Mastodon, X) and the install's
own publisher (a webhook or the outbox folder), built once by the composition root."""

from __future__ import annotations

import contextlib
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


class Outlets:
    def __init__(self, by_persona: dict[str, tuple[Outlet, ...]], default: tuple[Outlet, ...]):
        self._by_persona = by_persona
        self._default = default

    def of(self, persona: str) -> tuple[Outlet, ...]:
        return self._by_persona.get(persona) or self._default

    async def close(self) -> None:
        for outlets in self._by_persona.values():
            for outlet in outlets:
                if outlet.network is not None:
                    with contextlib.suppress(Exception):
                        await outlet.network.close()
