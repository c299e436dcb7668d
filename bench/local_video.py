"""Local video: how long the seed's clip takes to draw and encode, and how big it is.

A child process pinned to one core renders the clip the offline providers give the seed's video
item (three shots and the end card, 3 s each: 540x960 H.264 at 24 fps, 288 frames) ROUNDS
times with pipeline/providers/local_video.py, from its handle as a run would (fetch after
submit), over the offline poster frame. Render time is what the step records as its latency.

Target: a median under 1.5 s on one core, and the file well under Discord's 10 MiB.
Run: python -m bench.local_video
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from multiprocessing.connection import Connection

from bench.common import Row, median, print_rows, row
from pipeline.providers.base import MediaRequest
from pipeline.providers.local_video import LocalVideo

ROUNDS = 5
TARGET_S = 1.5
SCRIPT = (
    "Shot 1 (0-4s): Labs grade their own capability thresholds.\n"
    "Shot 2 (4-8s): The press treats the model card as capability evidence.\n"
    "Shot 3 (8-12s): Nobody outside the lab checks the grading.\n"
    "End card: When the benchmark is the safety case"
)
WORKLOAD = f"the seed's 4-shot clip (540x960, 24 fps, 12 s) rendered {ROUNDS} times on one core"


async def render_rounds() -> tuple[list[float], int]:
    provider = LocalVideo()
    request = MediaRequest(
        kind="video",
        prompt="When the benchmark is the safety case. " + SCRIPT,
        aspect_ratio="9:16",
        headline="When the benchmark is the safety case",
        script=SCRIPT,
        handle="aiaaron",
    )
    times, size = [], 0
    for _ in range(ROUNDS):
        started = time.perf_counter()
        result = await provider.fetch(await provider.submit(request))
        times.append(time.perf_counter() - started)
        size = len(result.data)
    return times, size


def pinned(conn: Connection) -> None:
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})  # before any thread starts
    conn.send(asyncio.run(render_rounds()))


async def measure() -> list[Row]:
    spawn = multiprocessing.get_context("spawn")
    here, there = spawn.Pipe()
    child = spawn.Process(target=pinned, args=(there,), daemon=True)
    child.start()
    times, size = await asyncio.to_thread(here.recv)
    await asyncio.to_thread(child.join, 60)
    return [
        row(
            "render time, median", median(times), "s", f"< {TARGET_S:g} s", median(times) < TARGET_S
        ),
        row("render time, slowest", max(times), "s", "reference", None),
        row("file size", size / 1024, "KiB", "< 8192 KiB", size < 8 * 1024 * 1024),
    ]


if __name__ == "__main__":
    print(WORKLOAD)
    print_rows("Local video", asyncio.run(measure()))
