"""Run overhead: wall time minus the ideal the concurrency limits allow, per item, at two sizes.

Image items (draft, hero image) through a console room; the text provider takes LATENCY_S per
call and the image provider LATENCY_S per image, returning a distinct ~1 MB JPEG each time (as
an image model does), stored in the media folder. SIZES items are RUNS_PER_SIZE runs of
ITEMS_PER_RUN items, all started at once (CONCURRENT_RUNS and TEXT_CONCURRENCY cover them), so
the ideal is one draft call, then the images IMAGE_CONCURRENCY at a time:
LATENCY_S + ceil(items / IMAGE_CONCURRENCY) * LATENCY_S. Timed from the first /run until every
draft is posted to the console (read back from the console's stored messages).

Target: at most 2 ms per item at both sizes (cost growing linearly with the items).
Run: python -m bench.run_overhead
"""

from __future__ import annotations

import asyncio
import math
import time

from bench.common import Row, console_room, database, print_rows, row, wait_runs_finished
from bench.media import FixedLatencyJpegs, base_jpeg
from pipeline.providers.offline import OfflineText, OfflineVideo
from pipeline.runner import Providers

LATENCY_S = 0.1
IMAGE_CONCURRENCY = 16
ITEMS_PER_RUN = 100
RUNS_PER_SIZE = {100: 1, 1000: 10}
TARGET_MS = 2.0
WORKLOAD = (
    f"image items in runs of {ITEMS_PER_RUN}, {LATENCY_S} s per text call and per image "
    f"(a ~{len(base_jpeg()) / 1e6:.1f} MB JPEG each), {IMAGE_CONCURRENCY} images at a time, "
    "console room"
)


def ideal_s(items: int) -> float:
    return LATENCY_S + math.ceil(items / IMAGE_CONCURRENCY) * LATENCY_S


async def wall_s(runs: int) -> float:
    providers = Providers(OfflineText(LATENCY_S), FixedLatencyJpegs(LATENCY_S), OfflineVideo())
    env = {
        "MAX_ITEMS": ITEMS_PER_RUN,
        "IMAGE_CONCURRENCY": IMAGE_CONCURRENCY,
        "CONCURRENT_RUNS": runs,
        "TEXT_CONCURRENCY": runs,
    }
    async with console_room(providers, **env) as (app, console):
        for n in range(runs):
            await console.handle_line(f'/propose run overhead {n} special:"{ITEMS_PER_RUN} image"')
        started = time.time()
        for n in range(1, runs + 1):
            await console.handle_line(f"/run {n}")
        await wait_runs_finished(app, poll_s=0.2)  # the end is read back, so polling is slow
        await app.room.wait_idle(timeout=600)
        ended = await database(app).scalar("SELECT MAX(created_at) FROM console_messages")
    return float(ended) - started


async def measure() -> list[Row]:
    rows: list[Row] = []
    for runs in RUNS_PER_SIZE.values():
        items = runs * ITEMS_PER_RUN
        wall = await wall_s(runs)
        per_item_ms = (wall - ideal_s(items)) / items * 1000
        rows += [
            row(f"{items} items: wall time", wall, "s", "reference", None),
            row(f"{items} items: ideal", ideal_s(items), "s", "reference", None),
            row(
                f"{items} items: (wall - ideal) per item",
                per_item_ms,
                "ms",
                f"<= {TARGET_MS:g} ms",
                per_item_ms <= TARGET_MS,
            ),
        ]
    return rows


if __name__ == "__main__":
    print(WORKLOAD)
    print_rows("Run overhead", asyncio.run(measure()))
