from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from pipeline.providers.base import MediaRequest, ProviderError, StepSkipped
from pipeline.providers.fal import FalMedia
from storage import posts
from tests.fakes.fal import FakeFal, FakeMediaHost
from tests.fakes.providers import MP4, PNG, WEBM, FakeOpenAI
from tests.provider_support import ScriptedModel, provider_settings, step_line
from tests.support import SEED_IDEA, console_session

KEY = "fal-key-id:fal-key-secret-0123456789"
ULTRA = "fal-ai/flux-pro/v1.1-ultra"
VIDEO = "fal-ai/kling-video/v2/master/text-to-video"
IMAGE = MediaRequest(kind="image", prompt="a solar roof at dawn", aspect_ratio="16:9")


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeFal]:
    async with FakeFal(api_key=KEY, polls_in_queue=2, polls_in_progress=2) as server:
        yield server


@pytest_asyncio.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as http:
        yield http


def provider(fake: FakeFal, client: httpx.AsyncClient, **options: Any) -> FalMedia:
    settings: dict[str, Any] = {
        "api_key": KEY,
        "queue_url": fake.url,
        "media_hosts": [fake.media_host],
        "poll_interval_s": 0.01,
        "max_poll_interval_s": 0.02,
        "client": client,
    }
    settings.update(options)
    return FalMedia(**settings)


@pytest.mark.asyncio
async def test_full_queue_cycle_follows_the_returned_urls(
    fake: FakeFal, client: httpx.AsyncClient
) -> None:
    fal = provider(fake, client)
    handle = await fal.submit(IMAGE)

    request_id = handle["request_id"]
    base = f"{fake.url}/fal-ai/flux-pro/requests/{request_id}"
    assert handle["status_url"] == f"{base}/status"
    assert handle["response_url"] == base
    assert handle["cancel_url"] == f"{base}/cancel"
    assert handle["model"] == ULTRA
    submitted = fake.requests[0]
    assert (submitted.method, submitted.path) == ("POST", f"/{ULTRA}")
    assert submitted.headers["authorization"] == f"Key {KEY}"
    assert submitted.body == {
        "prompt": "a solar roof at dawn",
        "aspect_ratio": "16:9",
        "output_format": "jpeg",
        "safety_tolerance": "2",
        "num_images": 1,
    }

    result = await fal.fetch(handle)

    assert result.data == PNG
    assert (result.content_type, result.extension) == ("image/png", "png")
    assert (result.provider, result.model) == ("fal", ULTRA)
    assert result.cost_usd == pytest.approx(0.06)
    assert fake.status_polls == [f"/fal-ai/flux-pro/requests/{request_id}/status"] * 5
    assert fake.submissions == {ULTRA: 1}
    media = [r for r in fake.requests if r.path.startswith("/files/")]
    assert len(media) == 1 and "authorization" not in media[0].headers


@pytest.mark.asyncio
async def test_video_model_and_unknown_price(fake: FakeFal, client: httpx.AsyncClient) -> None:
    fal = provider(fake, client, video_model=VIDEO)
    video = MediaRequest(kind="video", prompt="waves", aspect_ratio="9:16", extra={"duration": "5"})
    assert fal.estimate_cost(video) == 0.0
    result = await fal.fetch(await fal.submit(video))

    assert fake.requests[0].path == f"/{VIDEO}"
    assert fake.requests[0].body == {"prompt": "waves", "aspect_ratio": "9:16", "duration": "5"}
    assert (result.data, result.extension, result.model) == (MP4, "mp4", VIDEO)
    assert result.cost_usd is None
    priced = provider(fake, client, video_model=VIDEO, prices={VIDEO: 0.5})
    assert (await priced.fetch(await priced.submit(video))).cost_usd == 0.5


def test_video_without_a_model_is_skipped() -> None:
    fal = FalMedia(api_key=KEY)
    with pytest.raises(StepSkipped):
        fal.estimate_cost(MediaRequest(kind="video", prompt="waves"))
    assert fal.estimate_cost(IMAGE) == pytest.approx(0.06)


@pytest.mark.asyncio
async def test_error_on_completion(client: httpx.AsyncClient) -> None:
    async with FakeFal(api_key=KEY, error_on_completion="prompt flagged by the model") as fake:
        fal = provider(fake, client)
        handle = await fal.submit(IMAGE)
        with pytest.raises(ProviderError) as caught:
            await fal.fetch(handle)
    assert not caught.value.retryable
    assert "prompt flagged by the model" in caught.value.message


@pytest.mark.asyncio
async def test_safety_checker_hit_is_an_error(client: httpx.AsyncClient) -> None:
    async with FakeFal(api_key=KEY, nsfw=True) as fake:
        fal = provider(fake, client)
        with pytest.raises(ProviderError) as caught:
            await fal.fetch(await fal.submit(IMAGE))
    assert not caught.value.retryable and "safety checker" in caught.value.message


@pytest.mark.asyncio
async def test_deadline_cancels_and_fails_permanently(client: httpx.AsyncClient) -> None:
    async with FakeFal(api_key=KEY, polls_in_progress=10_000) as fake:
        fal = provider(fake, client, timeout_s=0.2)
        handle = await fal.submit(IMAGE)
        with pytest.raises(ProviderError) as caught:
            await fal.fetch(handle)
    assert caught.value.message == "timed out after 0.2s at fal"
    assert not caught.value.retryable
    assert fake.cancelled == [handle["request_id"]]
    cancel = [r for r in fake.requests if r.method == "PUT"]
    assert [r.path for r in cancel] == [f"/fal-ai/flux-pro/requests/{handle['request_id']}/cancel"]


@pytest.mark.asyncio
async def test_cancel(fake: FakeFal, client: httpx.AsyncClient) -> None:
    fal = provider(fake, client)
    handle = await fal.submit(IMAGE)
    await fal.cancel(handle)
    assert fake.cancelled == [handle["request_id"]]


@pytest.mark.asyncio
async def test_cancel_after_completion_is_not_an_error(
    fake: FakeFal, client: httpx.AsyncClient
) -> None:
    fal = provider(fake, client)
    handle = await fal.submit(IMAGE)
    await fal.fetch(handle)
    await fal.cancel(handle)
    assert fake.cancelled == []


@pytest.mark.asyncio
async def test_latency_is_measured_from_submit(fake: FakeFal, client: httpx.AsyncClient) -> None:
    fal = provider(fake, client)
    handle = await fal.submit(IMAGE)
    handle["submitted_at"] -= 30
    result = await fal.fetch(handle)
    assert 30 <= result.latency_s < 40


@pytest.mark.asyncio
async def test_resume_fetches_a_stored_handle_without_paying_again(fake: FakeFal) -> None:
    async with httpx.AsyncClient() as first_client:
        stored = json.dumps(await provider(fake, first_client).submit(IMAGE))

    async with httpx.AsyncClient() as second_client:
        result = await provider(fake, second_client).fetch(json.loads(stored))

    assert result.data == PNG
    assert fake.submissions == {ULTRA: 1}
    assert sum(1 for r in fake.requests if r.method == "POST") == 1


@pytest.mark.asyncio
async def test_429_on_submit_is_retryable(fake: FakeFal, client: httpx.AsyncClient) -> None:
    fake.fail(429, retry_after="3")
    with pytest.raises(ProviderError) as caught:
        await provider(fake, client).submit(IMAGE)
    assert (caught.value.retryable, caught.value.retry_after) == (True, 3.0)
    assert fake.submissions == {}


@pytest.mark.asyncio
async def test_500_while_polling_is_retryable_and_fetch_can_resume(
    fake: FakeFal, client: httpx.AsyncClient
) -> None:
    fal = provider(fake, client)
    handle = await fal.submit(IMAGE)
    fake.fail(500)
    with pytest.raises(ProviderError) as caught:
        await fal.fetch(handle)
    assert caught.value.retryable
    assert (await fal.fetch(handle)).data == PNG
    assert fake.submissions == {ULTRA: 1}


@pytest.mark.asyncio
async def test_hanging_status_times_out_as_retryable(
    fake: FakeFal, client: httpx.AsyncClient
) -> None:
    fal = provider(fake, client, request_timeout_s=0.2)
    handle = await fal.submit(IMAGE)
    fake.hang = True
    with pytest.raises(ProviderError) as caught:
        await fal.fetch(handle)
    assert caught.value.retryable


@pytest.mark.asyncio
async def test_handle_urls_elsewhere_are_refused_without_sending_the_key(
    fake: FakeFal, client: httpx.AsyncClient
) -> None:
    fal = provider(fake, client)
    handle = await fal.submit(IMAGE)
    async with FakeMediaHost() as elsewhere:
        forged = handle | {"status_url": f"{elsewhere.url}/steal/status"}
        with pytest.raises(ProviderError) as caught:
            await fal.fetch(forged)
    assert not caught.value.retryable
    assert elsewhere.requests == []


@pytest.mark.asyncio
async def test_media_host_must_be_allowlisted(fake: FakeFal, client: httpx.AsyncClient) -> None:
    fal = provider(fake, client, media_hosts=["fal.media"])
    with pytest.raises(ProviderError) as caught:
        await fal.fetch(await fal.submit(IMAGE))
    assert "not an allowed download host" in caught.value.message


@pytest.mark.asyncio
async def test_the_key_never_appears_in_errors(fake: FakeFal, client: httpx.AsyncClient) -> None:
    errors = []
    with pytest.raises(ProviderError) as caught:
        await provider(fake, client, api_key="fal-wrong-key").submit(IMAGE)
    assert caught.value.status == 401 and not caught.value.retryable
    errors.append(caught.value)
    fake.fail(422, message=f"bad input with key {KEY}")
    with pytest.raises(ProviderError) as caught:
        await provider(fake, client).submit(IMAGE)
    errors.append(caught.value)
    for error in errors:
        assert KEY not in str(error) and "fal-wrong-key" not in str(error)
    assert KEY not in repr(provider(fake, client))


HTML_AS_PNG = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"


@pytest.mark.asyncio
async def test_an_html_page_labelled_png_fails_for_good(client: httpx.AsyncClient) -> None:
    async with FakeFal(api_key=KEY, image_bytes=HTML_AS_PNG, image_type="image/png") as fake:
        fal = provider(fake, client)
        with pytest.raises(ProviderError) as caught:
            await fal.fetch(await fal.submit(IMAGE))
    assert not caught.value.retryable
    assert caught.value.message == (
        "media download refused: the image from 127.0.0.1 is not a PNG (it reads as HTML)"
    )


@pytest.mark.asyncio
async def test_a_webm_clip_is_kept_as_webm(client: httpx.AsyncClient) -> None:
    async with FakeFal(api_key=KEY, video_bytes=WEBM, video_type="video/webm") as fake:
        fal = provider(fake, client, video_model=VIDEO)
        result = await fal.fetch(await fal.submit(MediaRequest(kind="video", prompt="waves")))
    assert (result.data, result.content_type, result.extension) == (WEBM, "video/webm", "webm")


@pytest.mark.asyncio
async def test_text_labelled_mp4_fails_the_clip_step(client: httpx.AsyncClient) -> None:
    async with FakeFal(api_key=KEY, video_bytes=b"Internal error, please retry\n") as fake:
        fal = provider(fake, client, video_model=VIDEO)
        with pytest.raises(ProviderError) as caught:
            await fal.fetch(await fal.submit(MediaRequest(kind="video", prompt="waves")))
    assert caught.value.message.endswith("is not an MP4 (it reads as text)")


async def test_the_hero_image_step_says_why_its_file_was_refused(tmp_path: Path) -> None:
    async with (
        FakeOpenAI(api_key="sk-test", reply_fn=ScriptedModel()) as text,
        FakeFal(api_key=KEY, polls_in_queue=0, polls_in_progress=0, image_bytes=HTML_AS_PNG) as fal,
    ):
        settings = provider_settings(tmp_path, text=text, fal=fal, PROVIDER_MAX_ATTEMPTS=3)
        async with console_session(settings) as session:
            await session.type(f'/propose {SEED_IDEA} special:"1 image"', user="writer")
            await session.type("/run 1", user="writer")
            await session.settle()
            [post] = await posts.posts_of_run(session.app.room.deps.db.reader, 1)
            card = await session.type(f"/post {post.id}")
            media = session.app.settings.media_dir
            stored = [p for p in media.rglob("*") if p.is_file()] if media.exists() else []

    reason = "media download refused: the image from 127.0.0.1 is not a PNG (it reads as HTML)"
    line = step_line(card, "Hero image")
    assert line.startswith("Hero image failed · ") and line.endswith(reason), line
    assert " attempts" not in line  # refused once, not retried
    assert post.status == "failed"
    assert reason in session.transcript
    assert stored == []  # the page was never written into the media folder
    assert fal.submissions == {ULTRA: 1}
