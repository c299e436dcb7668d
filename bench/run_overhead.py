"""Run overhead: 100 items on providers with fixed latencies, against the ideal time that the
concurrency limits allow (one batch draft call, then the images `IMAGE_CONCURRENCY` at a time)."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

from bench.common import Row, console_room, print_rows, row
from pipeline.providers.base import MediaRequest, MediaResult
from pipeline.providers.offline import OfflineText, OfflineVideo
from pipeline.runner import Providers
from storage import plans

ITEMS = 100
LATENCY_S = 0.2
IMAGE_CONCURRENCY = 4
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)


class FixedLatencyImages:
    """An image provider that takes exactly `latency_s` and renders nothing."""

    name = "fixed"
    model = "fixed-latency"

    def __init__(self, latency_s: float) -> None:
        self.latency_s = latency_s

    def estimate_cost(self, request: MediaRequest) -> float:
        return 0.0

    async def submit(self, request: MediaRequest) -> dict[str, Any]:
        return {"prompt": request.prompt, "at": time.time()}

    async def fetch(self, handle: dict[str, Any]) -> MediaResult:
        await asyncio.sleep(self.latency_s)
        unique = TINY_PNG + str(handle["prompt"]).encode()  # distinct files, as real ones are
        return MediaResult(unique, "png", "image/png", self.name, self.model, 0.0, self.latency_s)

    async def cancel(self, handle: dict[str, Any]) -> None:
        return None


async def measure() -> list[Row]:
    providers = Providers(OfflineText(LATENCY_S), FixedLatencyImages(LATENCY_S), OfflineVideo())
    env = {"MAX_ITEMS": str(ITEMS), "IMAGE_CONCURRENCY": str(IMAGE_CONCURRENCY)}
    async with console_room(providers, **env) as (app, console):
        await console.handle_line(f'/propose run overhead special:"{ITEMS} image"')
        started = time.perf_counter()
        await console.handle_line("/run 1")
        while await plans.unfinished_runs(app.room.deps.db.reader):  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        wall = time.perf_counter() - started
        await app.room.wait_idle(timeout=600)
    ideal = LATENCY_S + math.ceil(ITEMS / IMAGE_CONCURRENCY) * LATENCY_S
    ratio = wall / ideal
    return [
        row(f"run of {ITEMS} image items, wall time", wall, "s", "reference", None),
        row("run overhead (wall / ideal)", ratio, "x", "<= 1.10", ratio <= 1.10),
    ]


if __name__ == "__main__":
    print_rows("Run overhead", asyncio.run(measure()))
