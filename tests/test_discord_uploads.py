"""Images over Discord's upload limit: reduced to fit, or left out and linked, and said so."""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import aiohttp
from PIL import Image

from handlers import cards
from storage import posts
from tests.discord_support import MESSAGES, Bot, discord_bot, embed_text
from tests.fakes.discord import FakeDiscord

MIB = 1024 * 1024


def noise_png(path: Path, side: int = 2048) -> Path:
    """A PNG of random pixels (it does not compress): 2048 x 2048 is just over 12 MiB."""
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(path, compress_level=1)
    return path


async def send_draft(bot: Bot, image: Path) -> dict[str, object]:
    """A draft card of a real post, carrying `image`, posted through the Discord port."""
    [_] = await bot.drafted(items=1)
    post = await posts.get_post(bot.app.room.deps.db.reader, 1)
    assert post is not None
    card = cards.draft_card(post, [image])
    ref = await bot.adapter.port.send(str(bot.channel), card, idempotency_key="draft:1:big")
    return bot.fake.message(bot.channel, int(ref.message_id))


async def test_a_12_mib_png_is_sent_reduced_to_fit_and_the_draft_says_so(tmp_path: Path) -> None:
    image = noise_png(tmp_path / "hero.png")
    original = hashlib.sha256(image.read_bytes()).hexdigest()
    assert image.stat().st_size > 12 * MIB
    async with discord_bot(tmp_path) as bot:
        message = await send_draft(bot, image)

        [upload] = bot.fake.files(bot.channel, int(message["id"]))  # type: ignore[arg-type]
        assert upload.filename == "hero.jpg" and len(upload.data) <= 10 * MIB
        with Image.open(io.BytesIO(upload.data)) as shown:
            assert (shown.format, shown.size) == ("JPEG", (2048, 2048))
        assert message["embeds"][0]["image"]["url"] == "attachment://hero.jpg"  # type: ignore[index]
        text = embed_text(message)  # type: ignore[arg-type]
        assert "hero.png (12.0 MiB) is over this server's 10.0 MiB Discord upload limit" in text
        assert "shown reduced (2048×2048 JPEG" in text and "the original is kept" in text
        assert not [c for c in bot.fake.calls if c.status == 413]
    assert hashlib.sha256(image.read_bytes()).hexdigest() == original


async def test_an_image_that_cannot_be_reduced_is_left_out_with_the_reason(
    tmp_path: Path,
) -> None:
    unreadable = tmp_path / "hero.png"
    unreadable.write_bytes(os.urandom(12 * MIB))  # named like an image, but no image inside
    async with discord_bot(tmp_path) as bot:
        message = await send_draft(bot, unreadable)

        assert message["attachments"] == []
        assert "image" not in message["embeds"][0]  # type: ignore[index, operator]
        text = embed_text(message)  # type: ignore[arg-type]
        assert (
            "hero.png (12.0 MiB) is too large for this server's 10.0 MiB Discord upload limit "
            "and could not be reduced to fit, so it is not attached; the file is kept on the "
            "server as hero.png, listed in /post 1."
        ) in text
        assert "post 1 · @aiaaron" in text, "the draft itself is still posted"


async def test_a_boosted_server_takes_the_image_as_it_is(tmp_path: Path) -> None:
    image = noise_png(tmp_path / "hero.png")
    async with discord_bot(tmp_path, fake_options={"premium_tier": 2}) as bot:
        message = await send_draft(bot, image)

        [upload] = bot.fake.files(bot.channel, int(message["id"]))  # type: ignore[arg-type]
        assert upload.filename == "hero.png" and upload.data == image.read_bytes()
        assert "upload limit" not in embed_text(message)  # type: ignore[arg-type]


async def post_files(fake: FakeDiscord, sizes: list[int]) -> tuple[int, object]:
    form = aiohttp.FormData()
    form.add_field("payload_json", json.dumps({"content": "files"}))
    for i, size in enumerate(sizes):
        form.add_field(f"files[{i}]", b"x" * size, filename=f"f{i}.bin")
    url = fake.api_url + MESSAGES.format(channel_id=fake.channel_id)
    headers = {"Authorization": f"Bot {fake.token}"}
    async with aiohttp.ClientSession() as http, http.post(url, data=form, headers=headers) as r:
        return r.status, await r.json()


async def test_the_fake_refuses_files_over_the_limit_together_as_discord_does() -> None:
    async with FakeDiscord() as fake:
        assert await post_files(fake, [6 * MIB, 4 * MIB + 1]) == (
            413,
            {"code": 40005, "message": "Request entity too large"},
        )
        assert not fake.messages(fake.channel_id)
        status, _ = await post_files(fake, [6 * MIB, 4 * MIB])
        assert status == 200
    async with FakeDiscord(premium_tier=3) as boosted:
        status, _ = await post_files(boosted, [60 * MIB])
        assert status == 200
