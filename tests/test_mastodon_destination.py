"""The Mastodon destination against a fake instance over real HTTP on 127.0.0.1: posts land
once (the Idempotency-Key, and a read-back when the key may have expired), failures say whether
to retry, and the instance's limits are the ones checked."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.destinations.base import DestinationError, Image, Outgoing
from pipeline.destinations.mastodon import MastodonDestination
from tests.fakes.mastodon_server import STATUSES, FakeMastodon
from tests.fakes.providers import MP4, PNG

TOKEN_SETTING = "MASTODON_AIAARON_TOKEN"
HOUR = 3600.0


@pytest.fixture
async def fake() -> AsyncIterator[FakeMastodon]:
    async with FakeMastodon() as server:
        yield server


def destination(fake: FakeMastodon, **options: Any) -> MastodonDestination:
    token = options.pop("token", fake.token)
    options.setdefault("request_timeout_s", 5.0)
    return MastodonDestination(
        "https://mastodon.example",
        token,
        token_setting=TOKEN_SETTING,
        handle="aiaaron",
        api_base_url=fake.url,
        media_poll_s=0.01,
        **options,
    )


def outgoing(
    text: str = "Spring is here. https://example.com/blog/spring-is-here-2026",
    *,
    images: tuple[Image, ...] = (),
    age_s: float = 0.0,
    key: str = "draftroom-post-7-rev-1-mastodon",
) -> Outgoing:
    return Outgoing(
        post_id=7, rev=1, key=key, text=text, created_at=time.time() - age_s, images=images
    )


def pngs(tmp_path: Path, count: int) -> tuple[Image, ...]:
    images = []
    for n in range(count):
        path = tmp_path / f"image-{n}.png"
        path.write_bytes(PNG)
        images.append(Image(path, alt=f"A white square, number {n}"))
    return tuple(images)


async def test_text_and_images_land_once_with_their_url_id_and_alt_text(
    fake: FakeMastodon, tmp_path: Path
) -> None:
    dest = destination(fake)
    out = outgoing(images=pngs(tmp_path, 2))
    placed = await dest.publish(out)
    await dest.close()

    [status] = fake.statuses
    assert (placed.remote_id, placed.url) == (status["id"], status["url"])
    assert [m["description"] for m in status["media_attachments"]] == [
        "A white square, number 0",
        "A white square, number 1",
    ]
    assert fake.sources[status["id"]] == out.text
    assert fake.requests_to("POST", STATUSES)[0].headers["idempotency-key"] == out.key
    assert len(fake.requests_to("POST", "/api/v2/media")) == 2
    assert dest.name == "mastodon @aiaaron@mastodon.example"


async def test_the_same_outgoing_published_twice_is_one_status(fake: FakeMastodon) -> None:
    dest = destination(fake)
    out = outgoing()
    first = await dest.publish(out)
    second = await destination(fake).publish(out)  # another process, after a crash
    assert first == second
    assert len(fake.statuses) == 1
    assert {r.headers["idempotency-key"] for r in fake.requests_to("POST", STATUSES)} == {out.key}


@pytest.mark.parametrize("status", [500, 502, 504])
async def test_an_unknown_outcome_then_a_retry_is_one_status(
    fake: FakeMastodon, tmp_path: Path, status: int
) -> None:
    fake.fail(status, after=True)  # the status is made; the answer is an error
    out = outgoing(images=pngs(tmp_path, 1))
    with pytest.raises(DestinationError) as failed:
        await destination(fake).publish(out)
    assert (failed.value.retryable, failed.value.unknown) == (True, True)
    assert len(fake.statuses) == 1

    placed = await destination(fake).publish(out)
    assert [s["id"] for s in fake.statuses] == [placed.remote_id]


@pytest.mark.parametrize(
    "text",
    [
        "Line one.\n\nA link: https://example.com/a/very/long/path/that/mastodon/shortens?x=1&y=2",
        'Thanks @friend@other.example for the <idea> & the "quote"!',  # HTML drops the domain
    ],
)
async def test_after_the_key_expired_a_retry_finds_the_status_instead_of_posting(
    fake: FakeMastodon, tmp_path: Path, text: str
) -> None:
    out = outgoing(text, images=pngs(tmp_path, 1), age_s=2 * HOUR)
    fake.fail(502, after=True)
    with pytest.raises(DestinationError):
        await destination(fake).publish(out)
    fake.forget_idempotency_keys()

    placed = await destination(fake).publish(out)
    assert [s["id"] for s in fake.statuses] == [placed.remote_id]
    assert len(fake.requests_to("POST", STATUSES)) == 1  # the retry looked, and did not post


async def test_after_the_key_expired_the_status_is_found_even_if_its_image_is_gone(
    fake: FakeMastodon, tmp_path: Path
) -> None:
    out = outgoing(images=pngs(tmp_path, 1), age_s=2 * HOUR)
    fake.fail(500, after=True)
    with pytest.raises(DestinationError):
        await destination(fake).publish(out)
    fake.forget_idempotency_keys()
    out.images[0].path.unlink()  # the draft's files were cleaned up meanwhile

    placed = await destination(fake).publish(out)
    assert [s["id"] for s in fake.statuses] == [placed.remote_id]


async def test_a_video_is_uploaded_alone_and_waited_for(fake: FakeMastodon, tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(MP4)
    out = Outgoing(7, 1, "video-key", "A clip", time.time(), video=clip)
    await destination(fake).publish(out)
    [status] = fake.statuses
    assert [m["type"] for m in status["media_attachments"]] == ["video"]

    both = Outgoing(8, 1, "both-key", "No", time.time(), images=pngs(tmp_path, 1), video=clip)
    with pytest.raises(DestinationError, match="a video or images"):
        await destination(fake).publish(both)
    assert len(fake.statuses) == 1


async def test_a_late_publish_is_not_fooled_by_an_older_status_with_the_same_text(
    fake: FakeMastodon,
) -> None:
    out = outgoing(age_s=2 * HOUR)
    older = fake.add_status(out.text, created_at=time.time() - 30 * HOUR)  # last year's repost
    placed = await destination(fake).publish(out)
    assert placed.remote_id != older["id"]
    assert len(fake.statuses) == 2


async def test_a_timeout_is_unknown_does_not_block_the_loop_and_the_retry_is_one_status(
    fake: FakeMastodon,
) -> None:
    fake.answer_delay_s = 1.5
    ticks = 0

    async def heartbeat() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.02)
            ticks += 1

    beating = asyncio.create_task(heartbeat())
    out = outgoing()
    started = time.monotonic()
    with pytest.raises(DestinationError) as failed:
        await destination(fake, request_timeout_s=0.3).publish(out)
    beating.cancel()
    assert (failed.value.retryable, failed.value.unknown) == (True, True)
    assert time.monotonic() - started < 1.4  # the request_timeout, not the server, ended it
    assert ticks >= 5  # the event loop ran while the request waited in its thread

    fake.answer_delay_s = 0
    await destination(fake).publish(out)
    assert len(fake.statuses) == 1


async def test_rate_limited_is_retryable_says_how_long_and_the_retry_posts_once(
    fake: FakeMastodon,
) -> None:
    fake.fail(429, reset_in_s=90)
    out = outgoing()
    with pytest.raises(DestinationError) as failed:
        await destination(fake).publish(out)
    assert (failed.value.retryable, failed.value.unknown) == (True, False)
    seconds = int(str(failed.value).split("about ")[1].split(" s")[0])
    assert 80 <= seconds <= 91
    assert fake.statuses == []

    await destination(fake).publish(out)
    assert len(fake.statuses) == 1


@pytest.mark.parametrize("status", [500, 503])
async def test_a_server_error_before_processing_is_retryable_and_the_retry_posts_once(
    fake: FakeMastodon, tmp_path: Path, status: int
) -> None:
    fake.fail(status, path="/api/v2/media")
    out = outgoing(images=pngs(tmp_path, 1))
    with pytest.raises(DestinationError) as failed:
        await destination(fake).publish(out)
    assert (failed.value.retryable, failed.value.unknown) == (True, False)
    assert fake.statuses == []

    await destination(fake).publish(out)
    assert len(fake.statuses) == 1


async def test_a_refused_token_is_final_and_names_the_setting_not_the_secret(
    fake: FakeMastodon, tmp_path: Path
) -> None:
    wrong = "LEAKCHECK-wrong-token"
    with pytest.raises(DestinationError) as failed:
        await destination(fake, token=wrong).publish(outgoing(images=pngs(tmp_path, 1)))
    assert not failed.value.retryable
    assert TOKEN_SETTING in str(failed.value)
    assert wrong not in str(failed.value) and fake.token not in str(failed.value)
    assert fake.statuses == [] and fake.media == {}


async def test_a_post_the_instance_refuses_for_its_content_is_final(
    fake: FakeMastodon, tmp_path: Path
) -> None:
    [image] = pngs(tmp_path, 1)
    too_long_alt = Image(image.path, alt="x" * 1501)  # Mastodon takes 1,500
    with pytest.raises(DestinationError) as failed:
        await destination(fake).publish(outgoing(images=(too_long_alt,)))
    assert not failed.value.retryable
    assert "Description is too long" in str(failed.value)
    assert fake.statuses == []


async def test_the_limits_are_the_instances_and_are_read_once() -> None:
    async with FakeMastodon(
        max_characters=1000, max_media_attachments=6, image_size_limit=2_000_000
    ) as fake:
        dest = destination(fake)
        limits = await dest.limits()
        instance_reads = len(fake.requests_to("GET", "/api/v2/instance/"))
        assert (limits.max_chars, limits.max_images, limits.max_image_bytes) == (
            1000,
            6,
            2_000_000,
        )
        assert limits.counting == "characters"
        assert "image/png" in limits.image_types and "video/mp4" not in limits.image_types
        await dest.limits()
        await dest.publish(outgoing())
        assert len(fake.requests_to("GET", "/api/v2/instance/")) == instance_reads


async def test_an_instance_that_omits_its_limits_gets_mastodons_defaults() -> None:
    async with FakeMastodon(max_characters=None, max_media_attachments=None) as fake:
        limits = await destination(fake).limits()
        assert (limits.max_chars, limits.max_images) == (500, 4)


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("http://a.co", 23),  # a short URL counts 23 too
        ("see https://example.com/" + "x" * 100, 4 + 23),
        ("read https://example.com/post.", 5 + 23 + 1),  # the full stop is not the URL's
        ("(https://example.com/a)", 1 + 23 + 1),
        ("example.com is not a link without its scheme", 44),
        ("hi @friend@other.example and @local", 3 + 7 + 5 + 6),  # a remote mention: @user
        ("mail me@example.com", 19),  # an address is not a mention
        ("https://a.example/1 https://b.example/2", 23 + 1 + 23),
        ("café 🌷", 6),
        ("family 👩\u200d👩\u200d👧 thumbs 👍🏽", 7 + 1 + 8 + 1),  # grapheme clusters
    ],
)
def test_text_length_counts_as_mastodon_does(text: str, length: int) -> None:
    assert MastodonDestination("https://m.example", "t").text_length(text) == length


async def test_a_text_at_the_limit_posts_and_one_over_is_refused_before_posting(
    fake: FakeMastodon,
) -> None:
    dest = destination(fake)
    links = " ".join(f"https://example.com/{'p' * 40}{n}" for n in range(5))  # 5 x 23 + 4
    at_limit = links + " 👍🏽" + "w" * (500 - (5 * 23 + 4) - 2)  # the emoji counts 1
    assert dest.text_length(at_limit) == 500
    await dest.publish(outgoing(at_limit, key="at-limit"))
    assert len(fake.statuses) == 1  # the server counts it as 500 too

    with pytest.raises(DestinationError) as failed:
        await dest.publish(outgoing(at_limit + "w", key="over-limit"))
    assert not failed.value.retryable and "501 characters" in str(failed.value)
    assert len(fake.requests_to("POST", STATUSES)) == 1  # nothing was sent for it


async def test_more_images_than_the_instance_takes_are_refused_before_uploading(
    fake: FakeMastodon, tmp_path: Path
) -> None:
    with pytest.raises(DestinationError) as failed:
        await destination(fake).publish(outgoing(images=pngs(tmp_path, 5)))
    assert not failed.value.retryable and "takes 4" in str(failed.value)
    assert fake.requests_to("POST", "/api/v2/media") == []


def test_a_missing_token_is_refused_naming_its_setting() -> None:
    with pytest.raises(ValueError, match=TOKEN_SETTING):
        MastodonDestination("https://m.example", "  ", token_setting=TOKEN_SETTING)
