"""`SlackPort`, the room's ChatPort on Slack, against the fake Slack's Web API over HTTP."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from slack_sdk.errors import SlackApiError

from bot.edits import EditCoalescer
from bot.slack_port import (
    DELIVERY_EVENT,
    SlackClient,
    SlackPort,
    offered_name,
    retry_handlers,
)
from handlers.ports import (
    ACTION_EMOJI,
    APPROVE,
    REGENERATE,
    REJECT,
    Card,
    MessageRef,
    Section,
    emoji_action,
)
from tests.fakes.providers import PNG
from tests.fakes.slack import FakeSlack

CHANNEL = "C1"


@pytest.fixture
def port(fake: FakeSlack) -> SlackPort:
    client = SlackClient(
        token=fake.bot_token, base_url=fake.api_url, retry_handlers=retry_handlers()
    )
    return SlackPort(client)


def card(title: str, text: str = "text", **kwargs: object) -> Card:
    return Card(title, (Section(None, text),), **kwargs)  # type: ignore[arg-type]


def test_one_table_of_reaction_names() -> None:
    assert [offered_name(ACTION_EMOJI[a]) for a in (APPROVE, REJECT, REGENERATE)] == [
        "white_check_mark",
        "x",
        "repeat",
    ]
    assert offered_name("✅\ufe0f") == "white_check_mark" and offered_name("👍") is None
    assert emoji_action("heavy_check_mark") == APPROVE
    assert emoji_action("white_check_mark::skin-tone-3") == APPROVE
    assert emoji_action("arrows_counterclockwise") == REGENERATE
    assert emoji_action("+1::skin-tone-2") is None and emoji_action("tada") is None


async def test_send_posts_blocks_metadata_images_and_reactions(
    fake: FakeSlack, port: SlackPort, tmp_path: Path
) -> None:
    image = tmp_path / "hero_card.png"
    image.write_bytes(PNG)
    draft = card("post 4", images=(image,))
    ref = await port.send(CHANNEL, draft, idempotency_key="draft:4:1", reactions=("✅", "❌", "🔁"))
    message = fake.message(CHANNEL, ref.message_id)
    assert message is not None and ref == MessageRef("slack", CHANNEL, message.ts)
    assert message.metadata == {"event_type": DELIVERY_EVENT, "event_payload": {"key": "draft:4:1"}}
    assert message.blocks and message.text.startswith("post 4")
    [upload] = fake.uploaded_files  # shown in the message's image block, shared nowhere
    assert upload.data == PNG and upload.completed and upload.channels == []
    assert [b["slack_file"] for b in message.blocks if b["type"] == "image"] == [{"id": upload.id}]
    assert fake.reactions_on(CHANNEL, ref.message_id) == {
        "white_check_mark": [fake.bot_user_id],
        "x": [fake.bot_user_id],
        "repeat": [fake.bot_user_id],
    }

    reply = await port.send(
        CHANNEL, card("in the thread", images=(image,)), thread_id=ref.message_id
    )
    reply_message = fake.message(CHANNEL, reply.message_id)
    assert reply_message is not None and reply_message.thread_ts == ref.message_id
    assert reply_message.blocks and reply_message.blocks[-1]["type"] == "image"  # in the reply
    assert fake.calls_of("chat.postMessage")[-1].params.get("metadata") is None


async def test_find_sent_by_key(fake: FakeSlack, port: SlackPort) -> None:
    sent = await port.send(CHANNEL, card("draft"), idempotency_key="draft:1:1")
    await port.send(CHANNEL, card("other"), idempotency_key="draft:2:1")
    await port.send(CHANNEL, card("plain"))
    assert await port.find_sent(CHANNEL, "draft:1:1") == sent
    assert await port.find_sent(CHANNEL, "draft:3:1") is None
    [history, *_] = fake.calls_of("conversations.history")
    assert history.params["include_all_metadata"] in ("1", "true", True, 1)


async def test_a_failed_post_raises_and_extras_do_not(
    fake: FakeSlack, port: SlackPort, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fake.fail_next("chat.postMessage", 503, times=3)
    with pytest.raises(SlackApiError):
        await port.send(CHANNEL, card("lost for now"))
    assert [c.status for c in fake.calls_of("chat.postMessage")] == [503, 503, 503]  # 1 + 2 retries

    image = tmp_path / "a.png"
    image.write_bytes(PNG)
    fake.fail_next("files.getUploadURLExternal", 200, error="invalid_arguments")
    fake.fail_next("reactions.add", 200, error="too_many_reactions")
    with caplog.at_level(logging.WARNING):
        ref = await port.send(CHANNEL, card("posted", images=(image,)), reactions=("✅", "❌"))
    assert fake.message(CHANNEL, ref.message_id) is not None
    assert fake.reactions_on(CHANNEL, ref.message_id) == {"x": [fake.bot_user_id]}
    assert "uploading" in caplog.text and "reacting" in caplog.text


async def test_one_call_per_method_waits_out_a_429(fake: FakeSlack, port: SlackPort) -> None:
    fake.fail_next("chat.postMessage", 429, retry_after=1, times=2)
    refs = await asyncio.gather(*(port.send(CHANNEL, card(f"m{i}")) for i in range(4)))
    assert len({r.message_id for r in refs}) == 4
    assert fake.early_retries() == []


async def test_edits_at_most_once_a_second_latest_card_wins(
    fake: FakeSlack, port: SlackPort
) -> None:
    ref = await port.send(CHANNEL, card("progress 0"))
    await port.edit(ref, card("progress 1"))
    await asyncio.gather(*(port.edit(ref, card(f"progress {i}")) for i in range(2, 6)))
    updates = fake.calls_of("chat.update")
    assert len(updates) == 2 and updates[1].time - updates[0].time >= 0.99
    message = fake.message(CHANNEL, ref.message_id)
    assert message is not None and message.text.startswith("progress 5")


async def test_edits_arriving_while_one_is_on_its_way_wait_for_its_answer(
    fake: FakeSlack, port: SlackPort
) -> None:
    """The core edits progress on every change, so a burst can start on a message never edited
    before: the first edit goes out at once, the rest fold into one a second after its answer."""
    ref = await port.send(CHANNEL, card("progress 0"))
    await asyncio.gather(*(port.edit(ref, card(f"progress {i}")) for i in range(1, 6)))
    updates = fake.calls_of("chat.update")
    assert len(updates) == 2 and updates[1].time - updates[0].time >= 0.99
    message = fake.message(CHANNEL, ref.message_id)
    assert message is not None and message.text.startswith("progress 5")


async def test_coalescer_hands_errors_to_every_waiter() -> None:
    applied: list[str] = []

    async def apply(message: tuple[str, str], card: Card) -> None:
        applied.append(card.title)
        if card.title == "boom":
            raise RuntimeError("slack said no")

    edits = EditCoalescer(apply, interval=0.05)
    where = ("C1", "1.0")
    await edits.edit(where, Card("a"))
    results = await asyncio.gather(
        edits.edit(where, Card("b")), edits.edit(where, Card("boom")), return_exceptions=True
    )
    assert applied == ["a", "boom"]
    assert [type(r) for r in results] == [RuntimeError, RuntimeError]
    await edits.edit(where, Card("c"))
    assert applied[-1] == "c"
