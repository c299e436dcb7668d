"""A video post's draft shows its clip with its poster, where the approver reacts: Discord
attaches it under the poster, Slack shows the poster in the draft and puts the clip in its
thread. Both come from the seed's batch, whose video item is drawn locally with no keys."""

from __future__ import annotations

from pathlib import Path

from tests.discord_support import discord_bot
from tests.fakes.slack import FakeSlack
from tests.slack_support import (
    CHANNEL,
    SEED_PROPOSE,
    SEED_SPECIAL,
    Bot,
    header,
    propose_and_run,
)


async def test_a_slack_video_draft_shows_its_poster_and_its_clip_in_the_thread(
    bot: Bot, fake: FakeSlack
) -> None:
    drafts = await propose_and_run(bot, SEED_PROPOSE)
    (video,) = [d for d in drafts if " · video · " in header(d)]
    images = [b for b in video.blocks or [] if b["type"] == "image"]
    assert len(images) == 1
    poster = next(f for f in fake.uploaded_files if f.id == images[0]["slack_file"]["id"])
    assert poster.filename.endswith("_poster.png")
    in_thread = [m for m in fake.messages(CHANNEL, thread_ts=video.ts) if m.files]
    clips = [f for m in in_thread for f in m.files or [] if str(f.get("name")).endswith(".mp4")]
    assert len(clips) == 1
    clip = next(f for f in fake.uploaded_files if f.id == clips[0]["id"])
    assert clip.data is not None and clip.data[4:8] == b"ftyp"  # an MP4 file, uploaded whole


async def test_a_discord_video_draft_attaches_its_clip_under_its_poster(tmp_path: Path) -> None:
    async with discord_bot(tmp_path) as bot:
        writer = bot.fake.non_approver_id
        await bot.command(
            "propose", writer, idea="benchmarks as safety cases", special=SEED_SPECIAL
        )
        await bot.command("run", writer, plan=1)
        await bot.idle()
        (video,) = [d for d in bot.drafts() if " · video · " in d["embeds"][0]["title"]]
        names = [a["filename"] for a in video["attachments"]]
        assert len(names) == 2 and names[0].endswith("_poster.png") and names[1].endswith(".mp4")
        assert video["embeds"][0]["image"]["url"] == f"attachment://{names[0]}"
        post_id = int(video["embeds"][0]["title"].split(" · ")[0].removeprefix("post "))
        shown = bot.followup(await bot.command("post", writer, post=post_id))
        assert [a["filename"] for a in shown["attachments"]] == names  # /post shows them too
