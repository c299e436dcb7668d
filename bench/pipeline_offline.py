"""Offline pipeline: the time per hero_text item spent outside rendering.

A child process pinned to one core (so that rendering threads cannot hide the rest by running
beside it) runs ROUNDS rounds of: RUNS runs of ITEMS_PER_RUN hero_text items through a console
room on offline providers at zero latency (draft, hero image, hero-text card, the draft posted
to the console), timed from the first /run until every draft is posted; then the same hero
images and cards rendered directly with pipeline/render.py, one after another. Outside
rendering = (pipeline time - direct rendering time) / items.

Target: under 2 ms per item. Run: python -m bench.pipeline_offline
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from multiprocessing.connection import Connection
from typing import Any

from bench.common import Row, console_room, database, print_rows, row, wait_runs_finished
from pipeline.providers.base import MediaRequest
from pipeline.providers.offline import OfflineImages, OfflineText, OfflineVideo
from pipeline.render import render_hero_card, render_offline_image
from pipeline.runner import Providers

ROUNDS = 2
RUNS = 10
ITEMS_PER_RUN = 10
ITEMS = ROUNDS * RUNS * ITEMS_PER_RUN
TARGET_MS = 2.0
WORKLOAD = (
    f"{ROUNDS} x {RUNS} runs of {ITEMS_PER_RUN} hero_text items, offline providers at zero "
    "latency, console room, 2 runs at a time, one core"
)


class RecordingImages(OfflineImages):
    """Offline images that note what they were asked for, to render the same ones directly."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[tuple[str, str]] = []

    async def submit(self, request: MediaRequest) -> dict[str, Any]:
        self.asked.append((request.prompt, request.aspect_ratio))
        return await super().submit(request)


async def through_pipeline() -> tuple[float, list[tuple[str, str]], list[tuple[str, str]]]:
    """Seconds from the first /run to the last message the console showed; the images asked
    for; the cards' (headline, persona)."""
    images = RecordingImages()
    providers = Providers(OfflineText(), images, OfflineVideo())
    env = {"MAX_ITEMS": ITEMS_PER_RUN, "CONCURRENT_RUNS": 2}
    async with console_room(providers, **env) as (app, console):
        for n in range(RUNS):
            await console.handle_line(
                f'/propose offline pipeline {n} special:"{ITEMS_PER_RUN} hero_text"'
            )
        started = time.time()
        for n in range(1, RUNS + 1):
            await console.handle_line(f"/run {n}")
        await wait_runs_finished(app, poll_s=0.2)  # the end is read back, so polling is slow
        await app.room.wait_idle(timeout=600)
        db = database(app)
        ended = await db.scalar("SELECT MAX(created_at) FROM console_messages")
        rows = await db.fetchall("SELECT headline, persona FROM posts ORDER BY id")
    return ended - started, images.asked, [(r["headline"], r["persona"]) for r in rows]


def render_directly(asked: list[tuple[str, str]], cards: list[tuple[str, str]]) -> float:
    started = time.perf_counter()
    for (prompt, aspect_ratio), (headline, persona) in zip(asked, cards, strict=True):
        background = render_offline_image(prompt, aspect_ratio)
        render_hero_card(background, headline, persona, aspect_ratio)
    return time.perf_counter() - started


def pinned(conn: Connection) -> None:
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})  # before any thread starts
    pipeline_s = rendering_s = 0.0
    for _ in range(ROUNDS):
        elapsed, asked, cards = asyncio.run(through_pipeline())
        pipeline_s += elapsed
        rendering_s += render_directly(asked, cards)
    conn.send((pipeline_s, rendering_s))


async def measure() -> list[Row]:
    spawn = multiprocessing.get_context("spawn")
    here, there = spawn.Pipe()
    child = spawn.Process(target=pinned, args=(there,), daemon=True)
    child.start()
    pipeline_s, rendering_s = await asyncio.to_thread(here.recv)
    await asyncio.to_thread(child.join, 60)
    per_item_ms = (pipeline_s - rendering_s) / ITEMS * 1000
    return [
        row(
            f"{ITEMS} hero_text items, pipeline wall per item",
            pipeline_s / ITEMS * 1000,
            "ms",
            "reference",
            None,
        ),
        row(
            "the same images and cards rendered directly, per item",
            rendering_s / ITEMS * 1000,
            "ms",
            "reference",
            None,
        ),
        row(
            "time per item outside rendering",
            per_item_ms,
            "ms",
            f"< {TARGET_MS:g} ms",
            per_item_ms < TARGET_MS,
        ),
    ]


if __name__ == "__main__":
    print(WORKLOAD)
    print_rows("Offline pipeline", asyncio.run(measure()))
