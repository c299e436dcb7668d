"""Real-size media for the benchmarks: a fixed-latency image provider that returns about 1 MB of
JPEG, as an image model does, each item's bytes distinct (so each is stored as a file)."""

from __future__ import annotations

import asyncio
import functools
import io
import random
import struct
import time
from typing import Any

from PIL import Image

from pipeline.providers.base import MediaRequest, MediaResult

JPEG_SIDE = 1024
JPEG_QUALITY = 94


@functools.cache
def base_jpeg() -> bytes:
    """A 1024x1024 JPEG of smoothed noise: about 1 MB, like a detailed photo."""
    rng = random.Random(3)
    noise = Image.frombytes("RGB", (640, 640), rng.randbytes(640 * 640 * 3))
    image = noise.resize((JPEG_SIDE, JPEG_SIDE), Image.Resampling.BICUBIC)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def distinct_jpeg(label: str) -> bytes:
    """The base JPEG with a comment segment (COM) naming `label`: still a valid JPEG."""
    data = base_jpeg()
    comment = label.encode()[:60000]
    return data[:2] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + data[2:]


class FixedLatencyJpegs:
    """An image provider that takes exactly `latency_s` and returns a ~1 MB JPEG."""

    name = "fixed"
    model = "fixed-latency-jpeg"

    def __init__(self, latency_s: float) -> None:
        self.latency_s = latency_s
        self._count = 0

    def estimate_cost(self, request: MediaRequest) -> float:
        return 0.0

    async def submit(self, request: MediaRequest) -> dict[str, Any]:
        self._count += 1
        return {"label": f"{self._count} {request.prompt}", "at": time.time()}

    async def fetch(self, handle: dict[str, Any]) -> MediaResult:
        # The bytes are made in a thread while the latency passes: copying a megabyte on the
        # loop would be this fake's cost, not the pipeline's.
        _, data = await asyncio.gather(
            asyncio.sleep(self.latency_s), asyncio.to_thread(distinct_jpeg, str(handle["label"]))
        )
        return MediaResult(data, "jpg", "image/jpeg", self.name, self.model, 0.0, self.latency_s)

    async def cancel(self, handle: dict[str, Any]) -> None:
        return None
