"""The Bluesky destination against a fake PDS over real HTTP on 127.0.0.1: a post lands once,
whatever fails in between (a repeat, a 500 after the write, a timeout, a 429), the session is kept
and refreshed instead of logging in per post, and what Bluesky refuses says what to do."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from atproto_client import AsyncClient, models
from atproto_client.exceptions import BadRequestError
from PIL import Image as PilImage

from pipeline.destinations.base import DestinationError, Image, Outgoing
from pipeline.destinations.bluesky import BlueskyDestination
from pipeline.destinations.bluesky_keys import post_rkey
from tests.fakes import bluesky_records
from tests.fakes.bluesky_server import FakeBluesky

PASSWORD = "abcd-efgh-ijkl-mnop"
SETTING = "BLUESKY_APP_PASSWORD_AARON"
CREATE = "com.atproto.repo.createRecord"
GET = "com.atproto.repo.getRecord"
UPLOAD = "com.atproto.repo.uploadBlob"
LOGIN = "com.atproto.server.createSession"

Make = Callable[..., BlueskyDestination]

# The SDK hands uploadBlob's bytes to httpx as `data=`, which httpx deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


@pytest.fixture
async def fake() -> AsyncIterator[FakeBluesky]:
    async with FakeBluesky(app_password=PASSWORD) as server:
        yield server


@pytest.fixture
async def make(fake: FakeBluesky) -> AsyncIterator[Make]:
    made: list[BlueskyDestination] = []

    def build(password: str = PASSWORD, timeout_s: float = 10.0) -> BlueskyDestination:
        destination = BlueskyDestination(
            handle=fake.handle,
            app_password=password,
            password_setting=SETTING,
            service_url=fake.url,
            timeout_s=timeout_s,
        )
        made.append(destination)
        return destination

    yield build
    for destination in made:
        await destination.close()


def outgoing(post_id: int = 7, rev: int = 1, text: str = "", **extra: object) -> Outgoing:
    return Outgoing(
        post_id=post_id,
        rev=rev,
        key=f"post-{post_id}-rev-{rev}-bluesky",
        text=text or f"Post {post_id}, revision {rev}: https://example.com #draftroom",
        created_at=1_764_000_000.123456,
        **extra,  # type: ignore[arg-type]
    )


def small_png(path: Path) -> Path:
    PilImage.new("RGB", (40, 30), (200, 40, 40)).save(path)
    return path


def noisy_png(path: Path, size: tuple[int, int] = (1200, 800)) -> Path:
    """Random pixels: incompressible, so a PNG of them is ~2.9 MB, far over the blob cap."""
    PilImage.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(path)
    return path


async def test_a_post_with_text_and_images_lands_once_with_its_link(
    fake: FakeBluesky, make: Make, tmp_path: Path
) -> None:
    big = noisy_png(tmp_path / "big.png")
    assert big.stat().st_size > 1_000_000
    out = outgoing(
        images=(
            Image(small_png(tmp_path / "small.png"), "a red square"),
            Image(big, "static on an old television"),
        )
    )

    placed = await make().publish(out)

    [post] = fake.posts
    rkey = post_rkey(out.created_at, out.post_id, out.rev)
    assert placed.remote_id == f"at://{fake.did}/app.bsky.feed.post/{rkey}" == post.uri
    assert placed.url == f"https://bsky.app/profile/{fake.did}/post/{rkey}"
    assert post.value["text"] == out.text
    images = post.value["embed"]["images"]
    assert [image["alt"] for image in images] == ["a red square", "static on an old television"]
    assert all(image["image"]["size"] <= 1_000_000 for image in images)
    assert images[0]["image"]["mimeType"] == "image/png"  # it fitted: sent as it was
    width, height = images[1]["aspectRatio"]["width"], images[1]["aspectRatio"]["height"]
    assert abs(width / height - 1.5) < 0.01  # scaled or recompressed, never stretched
    assert [f["features"][0]["$type"] for f in post.value["facets"]] == [
        "app.bsky.richtext.facet#link",
        "app.bsky.richtext.facet#tag",
    ]


async def test_the_same_post_published_again_even_after_a_restart_is_not_posted_twice(
    fake: FakeBluesky, make: Make
) -> None:
    out = outgoing()
    first = await make().publish(out)
    again = await make().publish(out)  # a new process: no memory of the first
    assert again == first
    assert len(fake.posts) == 1
    assert fake.calls[CREATE] == 1  # the second one found the record before writing


async def test_a_post_that_landed_but_answered_500_is_read_back_not_posted_again(
    fake: FakeBluesky, make: Make
) -> None:
    fake.fail(CREATE, 500, after=True)
    placed = await make().publish(outgoing())
    [post] = fake.posts
    assert placed.remote_id == post.uri
    assert post.writes == 1


async def test_a_post_that_landed_but_timed_out_is_found_by_its_key(
    fake: FakeBluesky, make: Make
) -> None:
    fake.stall(CREATE, after=True)
    placed = await make(timeout_s=0.5).publish(outgoing())
    assert [post.uri for post in fake.posts] == [placed.remote_id]


async def test_an_unknown_outcome_that_cannot_be_checked_is_retried_into_one_post(
    fake: FakeBluesky, make: Make
) -> None:
    fake.fail(CREATE, 500, after=True)
    fake.fail(GET, 503, skip=1)  # the first look passes; the one after the 500 fails
    destination = make()
    out = outgoing()
    with pytest.raises(DestinationError) as caught:
        await destination.publish(out)
    assert caught.value.retryable and caught.value.unknown

    await destination.publish(out)
    assert len(fake.posts) == 1
    assert fake.calls[CREATE] == 1


async def test_a_429_is_retryable_says_how_long_and_the_retry_posts_once(
    fake: FakeBluesky, make: Make
) -> None:
    fake.fail(CREATE, 429, reset_in_s=120)
    destination = make()
    with pytest.raises(DestinationError) as caught:
        await destination.publish(outgoing())
    assert caught.value.retryable and not caught.value.unknown
    assert re.search(r"429.*resets in 1[12]\d s", str(caught.value)), str(caught.value)
    assert fake.posts == []

    await destination.publish(outgoing())
    assert len(fake.posts) == 1


@pytest.mark.parametrize(("method", "status"), [(CREATE, 503), (UPLOAD, 502), (GET, 500)])
async def test_a_5xx_is_retryable_and_the_retry_posts_once(
    fake: FakeBluesky, make: Make, tmp_path: Path, method: str, status: int
) -> None:
    fake.fail(method, status)
    destination = make()
    out = outgoing(images=(Image(small_png(tmp_path / "a.png"), "a red square"),))
    with pytest.raises(DestinationError) as caught:
        await destination.publish(out)
    assert caught.value.retryable
    assert str(status) in str(caught.value)
    assert fake.posts == []

    await destination.publish(out)
    assert len(fake.posts) == 1


async def test_refused_credentials_name_the_setting_to_fix_and_not_the_secret(
    fake: FakeBluesky, make: Make
) -> None:
    wrong = "wxyz-wxyz-wxyz-wxyz"
    with pytest.raises(DestinationError) as caught:
        await make(password=wrong).publish(outgoing())
    message = str(caught.value)
    assert not caught.value.retryable
    assert SETTING in message and f"@{fake.handle}" in message
    assert wrong not in message and PASSWORD not in message
    assert fake.posts == []


async def test_one_login_for_many_posts_and_an_expired_token_is_refreshed(
    fake: FakeBluesky, make: Make
) -> None:
    destination = make()
    await destination.publish(outgoing(post_id=1))
    await destination.publish(outgoing(post_id=2))
    fake.expire_access_tokens()  # the server says expired though the token's `exp` is hours away
    await destination.publish(outgoing(post_id=3))

    assert len(fake.posts) == 3
    assert fake.calls[LOGIN] == 1
    assert fake.sessions.refreshed == 1


async def test_a_revoked_refresh_token_logs_in_once_more(fake: FakeBluesky, make: Make) -> None:
    destination = make()
    await destination.publish(outgoing(post_id=1))
    fake.expire_access_tokens()
    fake.sessions.revoke_refresh_tokens()
    await destination.publish(outgoing(post_id=2))
    assert len(fake.posts) == 2
    assert fake.calls[LOGIN] == 2


async def test_a_post_bluesky_refuses_for_its_size_is_not_retried(
    make: Make, tmp_path: Path
) -> None:
    # This PDS takes smaller blobs than Bluesky's 1,000,000 bytes the destination fits to.
    async with FakeBluesky(app_password=PASSWORD, max_blob_bytes=100_000) as small:
        destination = BlueskyDestination(
            handle=small.handle, app_password=PASSWORD, service_url=small.url
        )
        try:
            image = noisy_png(tmp_path / "n.png", (400, 300))  # ~360 KB: it fits 1 MB
            with pytest.raises(DestinationError) as caught:
                await destination.publish(outgoing(images=(Image(image, "noise"),)))
        finally:
            await destination.close()
    assert not caught.value.retryable
    assert "too large" in str(caught.value)
    assert small.posts == []


async def test_what_does_not_fit_is_refused_before_anything_is_sent(
    fake: FakeBluesky, make: Make, tmp_path: Path
) -> None:
    image = Image(small_png(tmp_path / "a.png"), "a red square")
    for out in (
        outgoing(text="x" * 301),
        outgoing(text="é" * 1501),  # 1,501 graphemes is over either way; 3,002 bytes
        outgoing(images=(image,) * 5),
        outgoing(video=tmp_path / "clip.mp4"),
    ):
        with pytest.raises(DestinationError) as caught:
            await make().publish(out)
        assert not caught.value.retryable
        assert "bluesky @aiaaron.bsky.social cannot take this post" in str(caught.value)
    assert sum(fake.calls.values()) == 0


async def test_the_limits_are_the_ones_the_server_enforces(fake: FakeBluesky, make: Make) -> None:
    destination = make()
    limits = await destination.limits()
    assert limits.counting == "graphemes"
    assert limits.max_chars == bluesky_records.MAX_GRAPHEMES == 300
    assert limits.max_images == bluesky_records.MAX_IMAGES == 4
    assert limits.max_image_bytes == fake.max_blob_bytes == 1_000_000
    assert limits.extra["max_bytes"] == bluesky_records.MAX_TEXT_BYTES == 3000
    assert not limits.video

    # 300 flags: 600 code points and 2,400 bytes, but 300 graphemes, so within both caps.
    flags = "🇫🇷" * 300
    assert destination.text_length(flags) == 300
    await destination.publish(outgoing(text=flags))
    assert len(fake.posts) == 1

    # The server itself refuses the 301st grapheme, whoever sends it.
    client = AsyncClient(fake.url)
    try:
        await client.login(fake.handle, PASSWORD, fetch_bsky_profile=False)
        record = models.AppBskyFeedPost.Record(text=flags + "!", created_at="2026-01-01T00:00:00Z")
        with pytest.raises(BadRequestError, match="300 graphemes"):
            await client.com.atproto.repo.create_record(
                models.ComAtprotoRepoCreateRecord.Data(
                    repo=fake.did,
                    collection="app.bsky.feed.post",
                    rkey="3m6f72qnsd222",
                    record=record,
                )
            )
    finally:
        await client.request.close()


@pytest.mark.parametrize(
    ("text", "graphemes"),
    [
        ("👨‍👩‍👧‍👦", 1),  # a family: 7 code points joined by ZWJ
        ("🇫🇷🇩🇪", 2),  # two flags, four regional indicators
        ("e\u0301", 1),  # e + combining acute
        ("👍🏽", 1),  # a skin tone modifier
        ("\u1100\u1161\u11a8", 1),  # Hangul written as jamo
        ("a\r\nb", 3),  # CR LF is one
        ("plain", 5),
    ],
)
async def test_text_length_counts_what_a_reader_sees_as_one(
    make: Make, text: str, graphemes: int
) -> None:
    assert make().text_length(text) == graphemes


def test_the_record_key_is_a_tid_fixed_by_the_post_and_revision() -> None:
    key = post_rkey(1_764_000_000.123456, 7, 1)
    assert bluesky_records.TID_RE.match(key)
    assert key == post_rkey(1_764_000_000.123456, 7, 1)
    assert (
        len({key, post_rkey(1_764_000_000.123456, 7, 2), post_rkey(1_764_000_000.123456, 8, 1)})
        == 3
    )
    alphabet = "234567abcdefghijklmnopqrstuvwxyz"
    value = 0
    for char in key:
        value = value * 32 + alphabet.index(char)
    assert value >> 10 == 1_764_000_000_123_456  # the post's creation time, in microseconds


async def test_a_record_key_holding_another_text_is_not_written_over(
    fake: FakeBluesky, make: Make
) -> None:
    await make().publish(outgoing(text="the first text"))
    with pytest.raises(DestinationError) as caught:
        await make().publish(outgoing(text="another text, same post and revision"))
    assert not caught.value.retryable
    assert [post.value["text"] for post in fake.posts] == ["the first text"]


async def test_a_server_that_answers_404_for_a_missing_record_still_posts(
    make: Make,
) -> None:
    async with FakeBluesky(app_password=PASSWORD, not_found_status=404) as other:
        destination = BlueskyDestination(
            handle=other.handle, app_password=PASSWORD, service_url=other.url
        )
        try:
            await destination.publish(outgoing())
        finally:
            await destination.close()
        assert len(other.posts) == 1


async def test_the_sdks_own_early_refresh_keeps_the_session_too(make: Make) -> None:
    # Tokens that live a minute: the SDK refreshes ahead of every call (15 minutes early).
    async with FakeBluesky(app_password=PASSWORD, access_ttl_s=60) as short:
        destination = BlueskyDestination(
            handle=short.handle, app_password=PASSWORD, service_url=short.url
        )
        try:
            await destination.publish(outgoing(post_id=1))
            short.expire_access_tokens()
            await destination.publish(outgoing(post_id=2))
        finally:
            await destination.close()
        assert len(short.posts) == 2
        assert short.calls[LOGIN] == 1
        assert short.sessions.refreshed >= 2


async def test_logging_in_past_the_servers_session_limit_is_retryable(
    fake: FakeBluesky, make: Make
) -> None:
    for post_id in range(30):  # thirty processes, each logging in once
        await make().publish(outgoing(post_id=post_id))
    with pytest.raises(DestinationError) as caught:
        await make().publish(outgoing(post_id=99))
    assert caught.value.retryable
    assert re.search(r"\(429\) while logging in; its limit resets in \d+ s", str(caught.value))
    assert len(fake.posts) == 30
