"""A card's images on Slack: shown in the message itself, or, failing that, in its thread.

An image is uploaded first with no channel (`files.getUploadURLExternal`, the bytes,
`files.completeUploadExternal` without `channel_id`): the file then exists, private to the app,
and the message shows it in an `image` block naming it by id. Only png, jpg, jpeg and gif may
be a block's `slack_file`; any other file, and any image whose upload failed or whose block
Slack refused, is uploaded into the message's thread after it is posted, as before.

A draft's send may be retried (its outcome was lost, or it failed after the upload): the files
uploaded for a delivery key are reused by the retry, so one revision uploads each image once per
process. After a restart a retry that finds no message uploads again; the earlier file stays
unshared, seen by no one. Edits show the images the message shows now: remembered from the send,
or read back from the message's blocks (after a restart).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from pathlib import Path
from typing import Any, Generic, TypeVar

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack_blocks import SlackImage, render, shown_images, utf16_prefix
from handlers.ports import Card

log = logging.getLogger(__name__)

SLACK_FILE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif"})
FILE_TITLE_CHARS = 250
FILE_ALT_TXT_CHARS = 1000
# Slack processes an upload after completing it; a block naming the file may be refused meanwhile.
FILE_PROCESSING_WAIT_S = 1.0
REMEMBERED = 1000  # messages (and pending delivery keys) whose images are kept in memory

Where = tuple[str, str]  # (channel id, message ts)
K = TypeVar("K")
V = TypeVar("V")


def shown_in_message(image: Path) -> bool:
    return image.suffix.lower() in SLACK_FILE_SUFFIXES


def refused_images(exc: Exception) -> bool:
    """Slack refused the message's blocks (with images in them, the likeliest cause)."""
    return isinstance(exc, SlackApiError) and exc.response.get("error") == "invalid_blocks"


def names_a_file(exc: Exception) -> bool:
    """The refusal names a `slack_file`: Slack may still be processing a file just uploaded."""
    if not isinstance(exc, SlackApiError):
        return False
    details = exc.response.get("errors") or []
    return any("slack_file" in str(detail) for detail in details)


async def post_showing(
    client: AsyncWebClient,
    channel_id: str,
    card: Card,
    shown: dict[Path, SlackImage],
    extra: dict[str, Any],
) -> tuple[str, dict[Path, SlackImage]]:
    """Post the card with `shown` in image blocks; if Slack refuses them (a second time after a
    moment, when it names a file), without them. Returns the message's ts and what it shows."""
    for attempt in range(2 if shown else 0):
        try:
            return await _post_blocks(client, channel_id, card, shown, extra), shown
        except SlackApiError as exc:
            if not refused_images(exc):
                raise
            if attempt == 0 and names_a_file(exc):
                await asyncio.sleep(FILE_PROCESSING_WAIT_S)
                continue
            log.warning(
                "Slack refused the image blocks of %r (%s); its images go to its thread instead",
                card.title,
                exc.response.get("errors") or exc.response.get("error"),
            )
            break
    return await _post_blocks(client, channel_id, card, {}, extra), {}


async def _post_blocks(
    client: AsyncWebClient,
    channel_id: str,
    card: Card,
    shown: dict[Path, SlackImage],
    extra: dict[str, Any],
) -> str:
    message = render(card, tuple(shown.values()))
    posted = await client.chat_postMessage(
        channel=channel_id, text=message.text, blocks=message.blocks, **extra
    )
    return str(posted["ts"])


class _Recent(OrderedDict[K, V], Generic[K, V]):
    """The last REMEMBERED entries kept."""

    def keep(self, key: K, value: V) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > REMEMBERED:
            self.popitem(last=False)


class SlackUploads:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        # delivery key -> the files uploaded for its send, while its message is not posted
        self._by_key: _Recent[str, dict[Path, SlackImage]] = _Recent()
        self._by_message: _Recent[Where, tuple[SlackImage, ...]] = _Recent()

    async def unshared(
        self, card_images: tuple[Path, ...], title: str, key: str | None
    ) -> dict[Path, SlackImage]:
        """The card's images that can be shown in the message, uploaded to no channel (or as
        uploaded for this delivery key before), in order. One that fails to upload is left out."""
        done = dict(self._by_key.get(key, {})) if key is not None else {}
        for path in dict.fromkeys(card_images):
            if path not in done and shown_in_message(path):
                uploaded = await self._upload(path, title)
                if uploaded is not None:
                    done[path] = uploaded
        if key is not None and done:
            self._by_key.keep(key, done)
        return {path: done[path] for path in card_images if path in done}

    async def _upload(self, image: Path, title: str) -> SlackImage | None:
        alt_text = f"{' '.join(title.split())} · {image.name}"
        try:
            content = await asyncio.to_thread(image.read_bytes)
            answer = await self.client.files_upload_v2(
                content=content,
                filename=image.name,
                title=utf16_prefix(title, FILE_TITLE_CHARS),
                alt_txt=utf16_prefix(alt_text, FILE_ALT_TXT_CHARS),
            )
            file_id = str((answer.get("file") or {}).get("id") or "")
        except Exception as exc:  # the image goes to the thread instead
            log.warning("uploading %s to be shown in the message failed: %s", image, exc)
            return None
        return SlackImage(file_id, alt_text) if file_id else None

    def posted(self, key: str | None, where: Where, shown: tuple[SlackImage, ...]) -> None:
        """The message exists and shows `shown`: its key's files are no longer pending."""
        if key is not None:
            self._by_key.pop(key, None)
        self._by_message.keep(where, shown)

    async def shown_on(self, where: Where) -> tuple[SlackImage, ...]:
        """What a message shows, for an edit to show it again."""
        if where in self._by_message:
            return self._by_message[where]
        channel, ts = where
        try:
            page = await self.client.conversations_history(
                channel=channel, latest=ts, inclusive=True, limit=1
            )
        except Exception as exc:
            log.warning("reading %s/%s to keep its images in an edit failed: %s", channel, ts, exc)
            return ()
        messages = [m for m in page.get("messages") or [] if m.get("ts") == ts]
        shown = shown_images(messages[0].get("blocks") or []) if messages else ()
        self._by_message.keep(where, shown)
        return shown

    async def to_thread(self, channel_id: str, thread_ts: str, image: Path, title: str) -> None:
        """The image shared into the message's thread; a failure is logged, never raised (the
        message is posted already)."""
        try:
            content = await asyncio.to_thread(image.read_bytes)
            await self.client.files_upload_v2(
                content=content,
                filename=image.name,
                title=utf16_prefix(title, FILE_TITLE_CHARS),
                alt_txt=utf16_prefix(title, FILE_ALT_TXT_CHARS),
                channel=channel_id,
                thread_ts=thread_ts,
            )
        except Exception as exc:
            log.warning("uploading %s to %s failed: %s", image, channel_id, exc)
