"""A draft's image in the draft message itself on Slack: uploaded to no channel, then named by an
`image` block's `slack_file`; in the draft's thread only when Slack refuses that block. And the
fake Slack refusing image blocks that name a file it cannot show, as Slack does."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import slack_blocks
from bot.slack_port import SlackClient, SlackPort, retry_handlers
from handlers.ports import Card, Section
from tests.fakes.providers import PNG
from tests.fakes.slack import MAX_BLOCKS_JSON, FakeMessage, FakeSlack, block_errors
from tests.slack_support import CHANNEL, propose_and_run, running_bot, slack_settings

ONE_HERO_TEXT = 'benchmarks as safety cases special:"1 hero_text"'


def client_of(fake: FakeSlack) -> SlackClient:
    return SlackClient(token=fake.bot_token, base_url=fake.api_url, retry_handlers=retry_handlers())


def image_blocks(message: FakeMessage) -> list[dict[str, Any]]:
    return [b for b in message.blocks or [] if b["type"] == "image"]


def thread_files(fake: FakeSlack, ts: str) -> list[dict[str, Any]]:
    return [f for m in fake.messages(CHANNEL, thread_ts=ts) for f in m.files or []]


async def test_a_hero_text_draft_shows_its_image_in_the_message(
    fake: FakeSlack, tmp_path: Path
) -> None:
    async with running_bot(fake, slack_settings(tmp_path, fake)) as bot:
        [draft] = await propose_and_run(bot, ONE_HERO_TEXT)
    assert " · hero_text · draft 1" in draft.blocks[0]["text"]["text"]  # type: ignore[index]
    [image] = image_blocks(draft)
    [upload] = [f for f in fake.uploaded_files if f.id == image["slack_file"]["id"]]
    assert upload.completed and upload.data and upload.data.startswith(b"\x89PNG")
    assert upload.channels == [] and upload.thread_ts is None  # shared nowhere: shown by the block
    assert image["alt_text"].startswith("post 1 · @") and len(image["alt_text"]) <= 2000
    assert thread_files(fake, draft.ts) == [] and len(fake.uploaded_files) == 1
    assert draft.text.startswith("post 1") and not draft.missing_fallback
    assert draft.blocks[-1]["type"] == "context"  # type: ignore[index]  # the footer stays last


async def test_a_refused_image_block_still_posts_the_draft_with_its_image_in_the_thread(
    fake: FakeSlack, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fake.refuse_image_blocks = True
    with caplog.at_level(logging.WARNING, logger="bot.slack_uploads"):
        async with running_bot(fake, slack_settings(tmp_path, fake)) as bot:
            [draft] = await propose_and_run(bot, ONE_HERO_TEXT)
    refused = [c for c in fake.calls_of("chat.postMessage") if c.error == "invalid_blocks"]
    assert refused and all("invalid slack file" in str(c.response["errors"]) for c in refused)
    assert image_blocks(draft) == [] and draft.text.startswith("post 1")
    [shared] = thread_files(fake, draft.ts)
    [upload] = [f for f in fake.uploaded_files if f.id == shared["id"]]
    assert (
        shared["name"].endswith("_card.png") and upload.data and upload.data.startswith(b"\x89PNG")
    )
    assert "refused the image blocks" in caplog.text and "thread" in caplog.text
    assert fake.reactions_on(CHANNEL, draft.ts)  # offered its ✅ ❌ 🔁 as ever


async def test_a_retried_send_reuses_its_upload_and_edits_keep_the_image(
    fake: FakeSlack, tmp_path: Path
) -> None:
    image = tmp_path / "hero_card.png"
    image.write_bytes(PNG)
    card = Card("post 7 · draft 1", (Section(None, "text"),), images=(image,))
    port = SlackPort(client_of(fake))
    fake.fail_next("chat.postMessage", 503, times=3)  # past the SDK's retries: the send raises
    with pytest.raises(SlackApiError):
        await port.send(CHANNEL, card, idempotency_key="draft:7:1")
    ref = await port.send(CHANNEL, card, idempotency_key="draft:7:1")
    [upload] = fake.uploaded_files
    message = fake.message(CHANNEL, ref.message_id)
    assert message is not None and image_blocks(message)[0]["slack_file"] == {"id": upload.id}

    await port.edit(ref, Card("post 7 · approved", (Section(None, "text"),), images=(image,)))
    assert message.edits == 1 and image_blocks(message)[0]["slack_file"] == {"id": upload.id}
    restarted = SlackPort(client_of(fake))  # remembers nothing: reads the message back
    await restarted.edit(ref, Card("post 7 · published", (Section(None, "t"),), images=(image,)))
    assert message.edits == 2 and image_blocks(message)[0]["slack_file"] == {"id": upload.id}
    assert "published" in message.blocks[0]["text"]["text"]  # type: ignore[index]
    assert len(fake.uploaded_files) == 1


async def test_a_file_slack_cannot_show_in_a_block_goes_to_the_thread(
    fake: FakeSlack, tmp_path: Path
) -> None:
    picture, other = tmp_path / "hero_card.png", tmp_path / "poster.webp"
    picture.write_bytes(PNG)
    other.write_bytes(b"RIFF....WEBP")
    port = SlackPort(client_of(fake))
    ref = await port.send(CHANNEL, Card("post 8", images=(picture, other)), idempotency_key="k")
    message = fake.message(CHANNEL, ref.message_id)
    assert message is not None and len(image_blocks(message)) == 1
    assert [f["name"] for f in thread_files(fake, ref.message_id)] == ["poster.webp"]


def test_image_blocks_fit_inside_block_kits_limits(tmp_path: Path) -> None:
    sections = tuple(Section(f"part {i}", "word " * 900) for i in range(80))
    card = Card("post 9 " + "x" * 300, sections, footer="✅ approve", more="/post 9")
    images = [slack_blocks.SlackImage(f"F{i}", "a" * 3000) for i in range(12)]
    message = slack_blocks.render(card, images)
    assert block_errors(message.blocks) == [] and len(message.blocks) <= 50
    assert len(json.dumps(message.blocks)) <= MAX_BLOCKS_JSON
    shown = image_blocks(FakeMessage(CHANNEL, "1", "U", blocks=message.blocks))
    assert len(shown) == slack_blocks.MAX_IMAGES
    assert all(b["alt_text"].startswith("aaa") and b["alt_text"].endswith("…") for b in shown)
    assert message.blocks[-1]["type"] == "context" and message.text.startswith("post 9")


# ------------------------------------------------------------- the fake, as Slack refuses


async def post_image(client: AsyncWebClient, slack_file: dict[str, str]) -> None:
    block = {"type": "image", "slack_file": slack_file, "alt_text": "the card"}
    await client.chat_postMessage(channel=CHANNEL, text="draft", blocks=[block])


def refusal(exc: pytest.ExceptionInfo[SlackApiError]) -> tuple[str, list[str]]:
    return exc.value.response["error"], exc.value.response["errors"]


INVALID_FILE = ["invalid slack file [json-pointer:/blocks/0/slack_file]"]


async def test_the_fake_refuses_an_image_block_naming_an_unknown_file(fake: FakeSlack) -> None:
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    with pytest.raises(SlackApiError) as refused:
        await post_image(client, {"id": "F0NOSUCHFILE"})
    assert refusal(refused) == ("invalid_blocks", INVALID_FILE)
    assert fake.messages(CHANNEL) == []


async def test_the_fake_refuses_an_image_block_naming_an_incomplete_upload(
    fake: FakeSlack,
) -> None:
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    started = await client.files_getUploadURLExternal(filename="card.png", length=len(PNG))
    with pytest.raises(SlackApiError) as refused:
        await post_image(client, {"id": str(started["file_id"])})
    assert refusal(refused) == ("invalid_blocks", INVALID_FILE)
    assert fake.messages(CHANNEL) == []


async def test_the_fake_shows_a_completed_unshared_upload_by_id_or_url(fake: FakeSlack) -> None:
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    done = await client.files_upload_v2(content=PNG, filename="card.png", title="card")
    file = done["file"]
    assert fake.uploaded_files[0].channels == [] and fake.messages(CHANNEL) == []
    await post_image(client, {"id": file["id"]})
    await post_image(client, {"url": file["url_private"]})
    assert len(fake.messages(CHANNEL)) == 2
    for both_or_text in ({"id": file["id"], "url": file["url_private"]}, {"id": "x"}):
        with pytest.raises(SlackApiError) as refused:
            await post_image(client, both_or_text)
        assert refusal(refused) == ("invalid_blocks", INVALID_FILE)
    notes = await client.files_upload_v2(content=b"notes", filename="notes.txt", title="notes")
    with pytest.raises(SlackApiError) as refused:
        await post_image(client, {"id": notes["file"]["id"]})
    assert refusal(refused) == ("invalid_blocks", INVALID_FILE)
