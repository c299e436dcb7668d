"""Offline pipeline: items per second through the whole pipeline, hero-text PNG included, and
the time per item spent outside rendering (measured on `text` items, which render nothing)."""

from __future__ import annotations

import asyncio
import time

from bench.common import Row, console_room, print_rows, row
from storage import plans

ITEMS_PER_RUN = 10
RUNS = 10


async def items_per_second(content_format: str) -> float:
    async with console_room(MAX_ITEMS=str(ITEMS_PER_RUN), CONCURRENT_RUNS="2") as (app, console):
        for n in range(RUNS):
            await console.handle_line(
                f'/propose offline throughput {n} special:"{ITEMS_PER_RUN} {content_format}"'
            )
        started = time.perf_counter()
        for n in range(1, RUNS + 1):
            await console.handle_line(f"/run {n}")
        while await plans.unfinished_runs(app.room.deps.db.reader):  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - started
        await app.room.wait_idle(timeout=600)
    return ITEMS_PER_RUN * RUNS / elapsed


async def measure() -> list[Row]:
    hero = await items_per_second("hero_text")
    text = await items_per_second("text")
    per_item_ms = 1000 / text
    return [
        row("offline throughput, hero_text items (incl. PNG)", hero, "items/s", "reference", None),
        row("time per item outside rendering", per_item_ms, "ms", "< 5 ms", per_item_ms < 5),
    ]


if __name__ == "__main__":
    print_rows("Offline pipeline", asyncio.run(measure()))
