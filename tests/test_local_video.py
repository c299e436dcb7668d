"""The local video renderer: a real MP4, read back with the same library (PyAV) that wrote it,
and the choice of it over fal's video model (VIDEO_PROVIDER)."""

from __future__ import annotations

import io
import random
import struct
from collections import Counter
from pathlib import Path

import av
import pytest
from PIL import Image

from bot.bootstrap import build
from bot.errors import ConfigError
from pipeline.providers.base import MediaRequest, MediaResult, ProviderError
from pipeline.providers.local_video import ClipShape, LocalVideo, shots_of
from storage import steps
from tests.fakes.fal import FakeFal
from tests.provider_support import IMAGE_MODEL, provider_settings
from tests.support import console_session

# What the offline text provider writes for a video script (pipeline/providers/offline.py).
SCRIPT = (
    "Shot 1 (0-4s): Labs grade their own capability thresholds.\n"
    "Shot 2 (4-8s): The press treats the model card as evidence.\n"
    "Shot 3 (8-12s): Nobody outside the lab checks the grading.\n"
    "End card: When the benchmark is the safety case"
)
SMALL = ClipShape(long_side=320, fps=24, seconds_per_shot=1.0)


async def render(provider: LocalVideo, background: Path | None = None) -> MediaResult:
    request = MediaRequest(
        kind="video",
        prompt="When the benchmark is the safety case. " + SCRIPT,
        aspect_ratio="9:16",
        headline="When the benchmark is the safety case",
        script=SCRIPT,
        handle="aiaaron",
        background=None if background is None else str(background),
    )
    return await provider.fetch(await provider.submit(request))


def read_back(path: Path) -> dict[str, object]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return {
            "codec": stream.codec_context.name,
            "pix_fmt": stream.format.name,
            "size": (stream.width, stream.height),
            "fps": float(stream.average_rate or 0),
            "frames": frames,
            "duration": float(stream.duration * stream.time_base) if stream.duration else 0.0,
        }


def top_level_boxes(data: bytes) -> list[str]:
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        boxes.append(kind.decode("latin-1"))
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        if size < 8:
            break
        offset += size
    return boxes


async def test_a_clip_is_h264_vertical_a_few_seconds_a_shot_and_starts_playing_at_once(
    tmp_path: Path,
) -> None:
    result = await render(LocalVideo(SMALL))
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(result.data)

    assert read_back(clip) == {
        "codec": "h264",
        "pix_fmt": "yuv420p",
        "size": (180, 320),  # 9:16, both even
        "fps": 24.0,
        "frames": 4 * 24,  # three shots and the end card, a second each
        "duration": pytest.approx(4.0, abs=0.05),
    }
    boxes = top_level_boxes(result.data)
    assert boxes.index("moov") < boxes.index("mdat"), boxes  # +faststart
    assert (result.extension, result.content_type) == ("mp4", "video/mp4")
    assert (result.provider, result.model, result.cost_usd) == (
        "local",
        "draftroom-local-video",
        0.0,
    )
    assert result.latency_s > 0
    assert result.poster is not None
    with Image.open(io.BytesIO(result.poster)) as poster:
        assert (poster.format, poster.size) == ("PNG", (180, 320))


def test_each_line_of_the_script_is_a_shot_without_its_label() -> None:
    assert shots_of(SCRIPT, "headline") == [
        "Labs grade their own capability thresholds.",
        "The press treats the model card as evidence.",
        "Nobody outside the lab checks the grading.",
        "When the benchmark is the safety case",
    ]
    many = "\n".join(f"Scene {n}: beat number {n}" for n in range(1, 13))
    assert shots_of(many, "h", most=4) == [
        "beat number 1",
        "beat number 2",
        "beat number 3",
        "beat number 12",  # the end stays
    ]
    assert shots_of("  \n- \n", "The headline") == ["The headline"]
    long_line = shots_of("word " * 60, "h")[0]
    assert len(long_line) <= 120 and long_line.endswith("…")


def noise_picture(tmp_path: Path) -> Path:
    """A background that costs many bits in every keyframe."""
    rng = random.Random(13)
    picture = Image.frombytes("RGB", (540, 960), rng.randbytes(540 * 960 * 3))
    path = tmp_path / "noise.png"
    picture.save(path)
    return path


async def test_a_clip_over_the_size_limit_is_encoded_again_at_a_lower_bitrate(
    tmp_path: Path,
) -> None:
    background = noise_picture(tmp_path)
    first = await render(LocalVideo(SMALL), background)
    limit = len(first.data) - 1
    smaller = await render(LocalVideo(SMALL, max_bytes=limit), background)

    assert len(smaller.data) <= limit
    assert len(smaller.data) < len(first.data) * 0.8  # a lower bitrate, not the same again
    clip = tmp_path / "smaller.mp4"
    clip.write_bytes(smaller.data)
    assert read_back(clip)["frames"] == 4 * 24


async def test_a_clip_that_cannot_fit_fails_saying_why_and_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ProviderError) as failed:
        await render(LocalVideo(SMALL, max_bytes=2000), noise_picture(tmp_path))
    message = failed.value.message
    assert "even at the lowest bitrate, over the 0.00 MiB" in message
    assert "shorten the video script" in message
    assert not failed.value.retryable


async def test_a_request_submitted_to_fal_before_a_switch_to_local_fails_saying_so() -> None:
    fal_handle = {"request_id": "req-1", "status_url": "https://queue.fal.run/x/status"}
    with pytest.raises(ProviderError, match="set VIDEO_PROVIDER back to finish it"):
        await LocalVideo(SMALL).fetch(fal_handle)


async def test_video_provider_local_draws_the_clip_even_with_a_fal_video_model(
    tmp_path: Path,
) -> None:
    async with FakeFal(polls_in_queue=0, polls_in_progress=0) as fal:
        settings = provider_settings(tmp_path, fal=fal, VIDEO_PROVIDER="local")
        async with console_session(settings) as session:
            await session.type('/propose a clip special:"1 video"', user="writer")
            await session.type("/run 1", user="writer")
            await session.settle()
            done = await steps.steps_of_run(session.app.room.deps.db.reader, 1)
        clip = next(s for s in done if s.name == "video_clip")
        assert (clip.status, clip.provider, clip.cost_usd) == ("done", "local", 0.0)
        assert fal.submissions == Counter({IMAGE_MODEL: 1})  # the poster frame, no video


async def test_video_provider_fal_without_a_video_model_stops_start_up(tmp_path: Path) -> None:
    settings = provider_settings(tmp_path, VIDEO_PROVIDER="fal", FAL_KEY="fal-key")
    with pytest.raises(ConfigError, match="VIDEO_PROVIDER=fal needs FAL_KEY and VIDEO_MODEL"):
        async with build(settings):
            pass
