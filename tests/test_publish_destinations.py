"""A persona with several destinations: each gets one publication record, is published once,
fails without stopping the others, and the thread says so once."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.bootstrap import build
from bot.errors import ConfigError
from tests import db_rows
from tests.support import console_session, make_settings
from tests.test_publish_webhook import SECRET, Receiver

ONE_TEXT = "webhooks special:\"Generate exactly 1 items: 1 with content_format='text'.\""


def personas(tmp_path: Path, destinations: str) -> Path:
    path = tmp_path / "personas.toml"
    path.write_text(
        'default_persona = "aaron"\n\n[personas.aaron]\ndefault_pillar = "notes"\n\n'
        '[personas.aaron.pillars.notes]\ndescription = "Notes."\n\n' + destinations,
        encoding="utf-8",
    )
    return path


BOTH = """[[personas.aaron.destinations]]
kind = "outbox"

[[personas.aaron.destinations]]
kind = "webhook"
"""


def targets(db: Path) -> list[tuple[str, str, int, str | None]]:
    return db_rows.rows(
        db,
        "SELECT destination, state, attempts, last_error FROM publication_targets"
        " WHERE post_id = 1 ORDER BY destination",
    )


async def test_a_failing_destination_does_not_stop_the_other_and_is_retried(
    tmp_path: Path,
) -> None:
    async with Receiver(failures=1) as receiver:
        settings = make_settings(
            tmp_path,
            PERSONAS_FILE=str(personas(tmp_path, BOTH)),
            PUBLISH_WEBHOOK_URL=receiver.url,
            PUBLISH_WEBHOOK_SECRET=SECRET,
        )
        async with console_session(settings) as session:
            await session.type(f"/propose {ONE_TEXT}", user="writer")
            await session.type("/run 1")
            await session.settle()
            await session.type("react post 1 ✅", user="editor")
            await session.settle()
            assert (tmp_path / "outbox" / "post-1" / "post.json").exists()
            assert targets(settings.db_path) == [
                ("outbox", "published", 1, None),
                ("webhook", "pending", 1, "webhook at 127.0.0.1 answered 503"),
            ]
            said = session.transcript
            assert (
                "post 1 was not published to webhook 127.0.0.1: webhook at 127.0.0.1 answered "
                "503. It will be tried again." in said
            )
            assert "is published" not in said
            card = await session.type("/post 1")
            assert "retrying (tried 1×) · webhook at 127.0.0.1 answered 503" in card

        async with console_session(settings) as again:  # a restart tries again at once
            await again.settle()
            card = await again.type("/post 1")
        assert [t[:3] for t in targets(settings.db_path)] == [
            ("outbox", "published", 1),
            ("webhook", "published", 2),
        ]
        assert len(receiver.received) == 2
        keys = {headers["Idempotency-Key"] for headers, _ in receiver.received}
        assert keys == {"draftroom-post-1-rev-1"}
        told = again.transcript.count("post 1 is published, revision 1: outbox (")
        assert told == 1 and "webhook 127.0.0.1 (127.0.0.1)" in again.transcript
        assert "published · " in card and "outbox · published" in card


async def test_a_destination_that_refuses_for_good_leaves_the_post_published_elsewhere(
    tmp_path: Path,
) -> None:
    async with Receiver() as receiver:
        receiver.refuse = 400
        settings = make_settings(
            tmp_path,
            PERSONAS_FILE=str(personas(tmp_path, BOTH)),
            PUBLISH_WEBHOOK_URL=receiver.url,
            PUBLISH_WEBHOOK_SECRET=SECRET,
        )
        async with console_session(settings) as session:
            await session.type(f"/propose {ONE_TEXT}", user="writer")
            await session.type("/run 1")
            await session.settle()
            await session.type("react post 1 ✅", user="editor")
            await session.settle()
            said = session.transcript
        assert len(receiver.received) == 1
        assert [t[:2] for t in targets(settings.db_path)] == [
            ("outbox", "published"),
            ("webhook", "failed"),
        ]
        assert said.count("post 1 is published, revision 1: outbox") == 1
        assert "; not on webhook 127.0.0.1 (webhook at 127.0.0.1 refused the post (400)" in said
        assert "It will be tried again" not in said


async def test_a_credential_written_inline_is_refused_naming_the_setting_to_use(
    tmp_path: Path,
) -> None:
    inline = """[[personas.aaron.destinations]]
kind = "bluesky"
handle = "aaron.bsky.social"
app_password = "abcd-efgh-ijkl-mnop"
"""
    settings = make_settings(tmp_path, PERSONAS_FILE=str(personas(tmp_path, inline)))
    with pytest.raises(ConfigError) as refused:
        async with build(settings):
            pass
    assert "writes its app_password inline; put it in a setting (.env)" in str(refused.value)
    assert 'app_password_setting = "AARON_BLUESKY_APP_PASSWORD"' in str(refused.value)
    assert "abcd-efgh" not in str(refused.value)


async def test_a_destination_whose_credential_is_not_set_stops_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AARON_MASTODON_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env here
    unset = """[[personas.aaron.destinations]]
kind = "mastodon"
instance = "https://mastodon.example"
access_token_setting = "AARON_MASTODON_TOKEN"
"""
    settings = make_settings(tmp_path, PERSONAS_FILE=str(personas(tmp_path, unset)))
    with pytest.raises(ConfigError) as refused:
        async with build(settings):
            pass
    assert str(refused.value) == (
        "persona 'aaron' publishes to mastodon, whose access token is read from the setting "
        "AARON_MASTODON_TOKEN, which is not set: set AARON_MASTODON_TOKEN in .env."
    )
