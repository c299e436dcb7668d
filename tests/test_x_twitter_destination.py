"""The X destination against a fake X over real HTTP on 127.0.0.1 (tests/fakes/x_twitter_server.py):
posts land once, retries after unknown outcomes find the post instead of making a second one,
and X's refusals become DestinationErrors that say what to do."""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image as PILImage

from pipeline.destinations.base import DestinationError, Image, Outgoing
from pipeline.destinations.x_twitter import XDestination
from pipeline.destinations.x_twitter_api import XApi
from pipeline.destinations.x_twitter_errors import as_destination_error
from tests.fakes import x_twitter_server as fake_limits
from tests.fakes.x_twitter_server import FakeX

SETTINGS = (
    "AIAARON_X_CONSUMER_KEY",
    "AIAARON_X_CONSUMER_SECRET",
    "AIAARON_X_ACCESS_TOKEN",
    "AIAARON_X_ACCESS_TOKEN_SECRET",
)


@pytest.fixture
async def fake_x() -> AsyncIterator[FakeX]:
    async with FakeX() as fake:
        yield fake


def destination(fake: FakeX, **options: Any) -> XDestination:
    options.setdefault("credential_settings", SETTINGS)
    return XDestination(
        fake.consumer_key,
        fake.consumer_secret,
        fake.access_token,
        fake.access_token_secret,
        api_url=fake.url,
        **options,
    )


def outgoing(text: str, images: tuple[Image, ...] = (), post_id: int = 7) -> Outgoing:
    return Outgoing(
        post_id=post_id,
        rev=1,
        key=f"draftroom-post-{post_id}-rev-1-x",
        text=text,
        created_at=time.time(),
        images=images,
    )


def png(path: Path, size: tuple[int, int] = (64, 48), color: str = "teal") -> Path:
    PILImage.new("RGB", size, color).save(path, format="PNG")
    return path


def posts_made(fake: FakeX) -> int:
    return sum(call == "POST /2/tweets" for call in fake.calls)


async def test_a_post_with_text_and_images_lands_once_with_its_id_and_url(
    fake_x: FakeX, tmp_path: Path
) -> None:
    images = (
        Image(png(tmp_path / "a.png"), alt="A teal square"),
        Image(png(tmp_path / "b.png", color="orange"), alt="An orange square"),
    )
    x = destination(fake_x)
    text = "Three habits of calm teams & why they work <3 https://example.com/calm-teams"
    placed = await x.publish(outgoing(text, images))
    await x.close()

    assert len(fake_x.posts) == 1
    post = fake_x.posts[0]
    assert post.text == text
    assert placed.remote_id == post.id
    assert placed.url == f"https://x.com/aiaaron/status/{post.id}"
    assert [fake_x.media[m].alt for m in post.media_ids] == ["A teal square", "An orange square"]
    assert x.name == "x @aiaaron"


async def test_an_image_over_5_mb_is_recompressed_to_fit(fake_x: FakeX, tmp_path: Path) -> None:
    side = 1400
    noise = PILImage.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    big = tmp_path / "noise.png"
    noise.save(big, format="PNG")
    assert big.stat().st_size > fake_limits.MAX_IMAGE_BYTES

    x = destination(fake_x)
    await x.publish(outgoing("A noisy picture", (Image(big, alt="Noise"),)))
    await x.close()

    [media] = [fake_x.media[m] for m in fake_x.posts[0].media_ids]
    assert media.content_type == "image/jpeg"
    assert media.size <= fake_limits.MAX_IMAGE_BYTES


async def test_the_same_outgoing_published_twice_is_one_post(fake_x: FakeX) -> None:
    fake_x.duplicate_window_s = 0  # X's duplicate check is not relied on: the read-back guards
    out = outgoing("Publish me once, however often I am asked")
    first = await destination(fake_x).publish(out)
    again = destination(fake_x)  # a new process after a crash: nothing remembered
    second = await again.publish(out)
    await again.close()

    assert first == second
    assert len(fake_x.posts) == 1
    assert posts_made(fake_x) == 1


async def test_a_post_with_a_link_markup_and_an_image_is_recognised_when_read_back(
    fake_x: FakeX, tmp_path: Path
) -> None:
    """X answers with the link on t.co, a t.co link for the image and &, < escaped: the read-back
    still knows the post for this one."""
    fake_x.duplicate_window_s = 0
    out = outgoing(
        "Q&A <live> at https://example.com/qa?x=1&y=2 ",
        (Image(png(tmp_path / "a.png"), alt="A"),),
    )
    first = await destination(fake_x).publish(out)
    again = destination(fake_x)
    second = await again.publish(out)
    await again.close()

    assert first == second
    assert len(fake_x.posts) == 1


async def test_concurrent_publishes_of_one_post_make_one_post(fake_x: FakeX) -> None:
    fake_x.duplicate_window_s = 0
    x = destination(fake_x)
    out = outgoing("Asked twice at once")
    first, second = await asyncio.gather(x.publish(out), x.publish(out))
    await x.close()
    assert first == second
    assert len(fake_x.posts) == 1


async def test_after_a_5xx_on_a_processed_post_the_retry_finds_it(fake_x: FakeX) -> None:
    fake_x.duplicate_window_s = 0
    fake_x.fail(503, processed=True)
    x = destination(fake_x)
    out = outgoing("The server made me, then failed to say so")
    with pytest.raises(DestinationError) as failed:
        await x.publish(out)
    assert failed.value.retryable and failed.value.unknown
    assert len(fake_x.posts) == 1

    placed = await x.publish(out)
    await x.close()
    assert placed.remote_id == fake_x.posts[0].id
    assert len(fake_x.posts) == 1
    assert posts_made(fake_x) == 1


async def test_after_a_timeout_on_a_processed_post_the_retry_finds_it(fake_x: FakeX) -> None:
    fake_x.duplicate_window_s = 0
    fake_x.stall()
    x = destination(fake_x, read_timeout_s=0.5)
    out = outgoing("X took this, and never answered")
    with pytest.raises(DestinationError) as failed:
        await x.publish(out)
    assert failed.value.retryable and failed.value.unknown
    assert "in time" in str(failed.value)

    placed = await x.publish(out)
    await x.close()
    assert placed.remote_id == fake_x.posts[0].id
    assert len(fake_x.posts) == 1


async def test_a_duplicate_refusal_reads_the_post_back(fake_x: FakeX) -> None:
    x = destination(fake_x)
    out = outgoing("Posted, but the timeline has not caught up yet")
    first = await x.publish(out)
    fake_x.timeline_lag_reads = 1  # the retry's first read-back misses the post; X says 403
    second = await x.publish(out)
    await x.close()

    assert second == first
    assert len(fake_x.posts) == 1


async def test_429_is_retryable_says_when_and_the_retry_posts_once(fake_x: FakeX) -> None:
    fake_x.fail(429, reset_in_s=600)
    x = destination(fake_x)
    out = outgoing("Rate limited, then fine")
    with pytest.raises(DestinationError) as failed:
        await x.publish(out)
    assert failed.value.retryable and not failed.value.unknown
    wait = re.search(r"resets in (\d+) s", str(failed.value))
    assert wait is not None and 590 <= int(wait.group(1)) <= 600
    assert fake_x.posts == []

    await x.publish(out)
    await x.close()
    assert len(fake_x.posts) == 1


async def test_429_for_the_daily_post_cap_waits_for_the_cap(fake_x: FakeX) -> None:
    fake_x.fail(429, daily=True, reset_in_s=3600)
    x = destination(fake_x)
    with pytest.raises(DestinationError) as failed:
        await x.publish(outgoing("Over the day's cap"))
    await x.close()
    wait = re.search(r"resets in (\d+) s", str(failed.value))
    assert wait is not None and 3590 <= int(wait.group(1)) <= 3600


async def test_a_5xx_is_retryable_and_the_retry_posts_once(fake_x: FakeX) -> None:
    fake_x.fail(500)
    x = destination(fake_x)
    out = outgoing("A hiccup at X")
    with pytest.raises(DestinationError) as failed:
        await x.publish(out)
    assert failed.value.retryable and failed.value.unknown
    assert fake_x.posts == []

    await x.publish(out)
    await x.close()
    assert len(fake_x.posts) == 1


async def test_refused_credentials_name_the_settings_and_never_the_secret(
    fake_x: FakeX, tmp_path: Path
) -> None:
    x = XDestination(
        fake_x.consumer_key,
        "wrong-consumer-secret",
        fake_x.access_token,
        fake_x.access_token_secret,
        api_url=fake_x.url,
        credential_settings=SETTINGS,
    )
    with pytest.raises(DestinationError) as failed:
        await x.publish(outgoing("Never posted", (Image(png(tmp_path / "a.png"), alt="A"),)))
    await x.close()

    message = str(failed.value)
    assert not failed.value.retryable
    assert all(name in message for name in SETTINGS)
    assert "wrong-consumer-secret" not in message and fake_x.access_token not in message
    assert fake_x.posts == [] and fake_x.media == {}


def test_a_missing_credential_is_refused_naming_its_setting() -> None:
    with pytest.raises(ValueError, match="AIAARON_X_ACCESS_TOKEN_SECRET"):
        XDestination("key", "secret", "token", "", credential_settings=SETTINGS)


async def test_an_unfit_post_is_refused_before_anything_is_sent(
    fake_x: FakeX, tmp_path: Path
) -> None:
    x = destination(fake_x)
    picture = Image(png(tmp_path / "a.png"), alt="A")
    for unfit in (outgoing("a" * 281), outgoing("five images", (picture,) * 5)):
        with pytest.raises(DestinationError) as failed:
            await x.publish(unfit)
        assert not failed.value.retryable
        assert "X allows" in str(failed.value)
    await x.close()
    assert fake_x.calls == []


async def test_x_refuses_text_over_280_weighted_and_that_is_not_retryable(
    fake_x: FakeX,
) -> None:
    """The fake enforces the limit limits() reports: 140 CJK characters pass, 141 do not."""
    api = XApi(
        fake_x.consumer_key,
        fake_x.consumer_secret,
        fake_x.access_token,
        fake_x.access_token_secret,
        api_url=fake_x.url,
        timeout=(5.0, 5.0),
    )
    await asyncio.to_thread(api.create, "字" * 140, [])
    with pytest.raises(Exception) as refused:
        await asyncio.to_thread(api.create, "字" * 141, [])
    api.close()
    error = as_destination_error(refused.value, doing="posting", creates_post=True, credentials="")
    assert not error.retryable and not error.unknown
    assert "Your Tweet text is too long" in str(error)
    assert len(fake_x.posts) == 1


async def test_limits_are_the_fakes_limits(fake_x: FakeX) -> None:
    x = destination(fake_x)
    limits = await x.limits()
    await x.close()
    assert limits.max_chars == fake_limits.MAX_WEIGHTED_CHARS
    assert limits.counting == "weighted"
    assert limits.max_images == fake_limits.MAX_IMAGES
    assert limits.max_image_bytes == fake_limits.MAX_IMAGE_BYTES
    assert set(limits.image_types) == {"image/png", "image/jpeg", "image/gif", "image/webp"}
