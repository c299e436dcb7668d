"""A video post of the seed's kind published to Bluesky, Mastodon and X from the console: the
clip goes where the network takes video (Mastodon), the poster where it does not (Bluesky and
X here), and the post card lists each network with the link to its live post."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.bluesky_server import FakeBluesky
from tests.fakes.mastodon_server import FakeMastodon
from tests.fakes.x_twitter_server import FakeX
from tests.support import console_session, make_settings
from tests.test_crash_networks import Fakes, bot_environment

VIDEO = "short takes special:\"Generate exactly 1 items: 1 with content_format='video'.\""


async def test_a_video_post_goes_out_as_each_network_can_show_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with FakeBluesky() as bluesky, FakeMastodon() as mastodon, FakeX() as x:
        env = bot_environment(tmp_path, Fakes(bluesky, mastodon, x))
        for name, value in env.items():
            if name.startswith(("AIAARON_", "BLUESKY_", "X_API", "PERSONAS_FILE")):
                monkeypatch.setenv(name, value)
        settings = make_settings(tmp_path)
        async with console_session(settings) as session:
            await session.type(f"/propose {VIDEO}", user="writer")
            await session.type("/run 1")
            await session.settle()
            await session.type("react post 1 ✅", user="editor")
            await session.settle()
            card = await session.type("/post 1")
        (post,) = bluesky.posts
        embed = post.value["embed"]
        assert embed["$type"] == "app.bsky.embed.images" and len(embed["images"]) == 1
        (status,) = mastodon.statuses
        assert [m["type"] for m in status["media_attachments"]] == ["video"]
        (tweet,) = x.posts
        assert len(tweet.media_ids) == 1 and x.media[tweet.media_ids[0]].content_type.startswith(
            "image/"
        )
        assert "Destinations" in card
        for name in ("bluesky @", "mastodon @aiaaron@", "x @"):
            assert f"{name}" in card
        assert card.count(" · published · http") == 3
