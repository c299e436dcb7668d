"""Fit before approval (issue 14): when a draft is made its caption is measured against each
network of its persona, by the network's own counting and limits (the real destination classes,
against the fakes of Bluesky, Mastodon and X); where it does not fit, the drafter writes that
network's text (a paid call, recorded as a step), the draft card shows it and that network is
sent it; where no rewrite fits, the draft fails with the reason before anyone can approve it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipeline.destinations.x_twitter_text import weighted_length
from tests import db_rows
from tests.fakes.bluesky_server import FakeBluesky
from tests.fakes.mastodon_server import FakeMastodon
from tests.fakes.providers import FakeOpenAI
from tests.fakes.x_twitter_server import FakeX
from tests.provider_support import ScriptedModel, batch_items, pipeline_lines, provider_settings
from tests.support import ConsoleSession, console_session, make_settings
from tests.web_support import site_session

ONE_TEXT = "notes special:\"Generate exactly 1 items: 1 with content_format='text'.\""
# 13 CJK characters, 26 weighted on X; twelve of them and a tag: 163 characters, 319 weighted.
LONG_FOR_X = "誰が採点者を採点するのか？" * 12 + " #evals"


@dataclass
class Networks:
    bluesky: FakeBluesky
    mastodon: FakeMastodon
    x: FakeX


@asynccontextmanager
async def networks(*, max_characters: int = 500) -> AsyncIterator[Networks]:
    async with (
        FakeBluesky() as bluesky,
        FakeMastodon(max_characters=max_characters) as mastodon,
        FakeX() as x,
    ):
        yield Networks(bluesky, mastodon, x)


def destinations(fakes: Networks, kinds: tuple[str, ...]) -> str:
    tables = {
        "bluesky": f"""[[personas.aaron.destinations]]
kind = "bluesky"
handle = "{fakes.bluesky.handle}"
app_password_setting = "AARON_BLUESKY_APP_PASSWORD"
""",
        "mastodon": f"""[[personas.aaron.destinations]]
kind = "mastodon"
instance = "{fakes.mastodon.url}"
access_token_setting = "AARON_MASTODON_TOKEN"
handle = "{fakes.mastodon.username}"
""",
        "x": f"""[[personas.aaron.destinations]]
kind = "x"
handle = "{fakes.x.username}"
consumer_key_setting = "AARON_X_CONSUMER_KEY"
consumer_secret_setting = "AARON_X_CONSUMER_SECRET"
access_token_setting = "AARON_X_ACCESS_TOKEN"
access_token_secret_setting = "AARON_X_ACCESS_TOKEN_SECRET"
""",
    }
    return "\n".join(tables[kind] for kind in kinds)


def network_settings(
    tmp_path: Path,
    fakes: Networks,
    monkeypatch: pytest.MonkeyPatch,
    kinds: tuple[str, ...],
    *,
    hashtags: tuple[str, ...] = (),
    text: FakeOpenAI | None = None,
) -> Any:
    """Settings for persona `aaron` publishing to `kinds` (at the fakes); a second persona,
    `quiet`, publishes to the outbox only."""
    tags = ", ".join(f'"{t}"' for t in hashtags)
    path = tmp_path / "personas.toml"
    path.write_text(
        f'default_persona = "aaron"\n\n[personas.aaron]\ndefault_pillar = "notes"\n'
        f"hashtags = [{tags}]\n\n"
        '[personas.aaron.pillars.notes]\ndescription = "Notes."\n\n'
        '[personas.quiet]\ndefault_pillar = "notes"\n\n'
        '[personas.quiet.pillars.notes]\ndescription = "Notes."\n\n' + destinations(fakes, kinds),
        encoding="utf-8",
    )
    for name, value in {
        "AARON_BLUESKY_APP_PASSWORD": "abcd-efgh-ijkl-mnop",
        "AARON_MASTODON_TOKEN": fakes.mastodon.token,
        "AARON_X_CONSUMER_KEY": fakes.x.consumer_key,
        "AARON_X_CONSUMER_SECRET": fakes.x.consumer_secret,
        "AARON_X_ACCESS_TOKEN": fakes.x.access_token,
        "AARON_X_ACCESS_TOKEN_SECRET": fakes.x.access_token_secret,
    }.items():
        monkeypatch.setenv(name, value)
    env: dict[str, Any] = {
        "PERSONAS_FILE": str(path),
        "BLUESKY_SERVICE_URL": fakes.bluesky.url,
        "X_API_URL": fakes.x.url,
    }
    if text is None:
        return make_settings(tmp_path, **env)
    return provider_settings(tmp_path, text=text, **env)


class FittingModel(ScriptedModel):
    """Drafts `caption`; rewrites a caption to `max_chars` code points, hashtags kept, and when
    told what a rewrite came to, shorter in that proportion (a model that first misses X's
    weighting of CJK characters, as a real one may)."""

    def __init__(self, caption: str) -> None:
        super().__init__()
        self.caption = caption

    def answer(self, title: str, data: dict[str, Any]) -> dict[str, Any]:
        if title == "DraftBatch":
            return {"items": [item | {"caption": self.caption} for item in batch_items(data)]}
        if title != "FittedCaption":
            return super().answer(title, data)
        words = str(data["caption"]).split()
        tags = " ".join(w for w in words if w.startswith("#"))
        text = " ".join(w for w in words if not w.startswith("#"))
        room = int(data["max_chars"])
        if data.get("previous_length"):
            room = len(data["previous_rewrite"]) * room // int(data["previous_length"])
        return {"caption": f"{text[: room - len(tags) - 2]}… {tags}"}


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    return db_rows.rows(db, sql)


async def draft(session: ConsoleSession, persona: str = "") -> None:
    await session.type(f"/propose {ONE_TEXT}{persona}", user="writer")
    await session.type("/run 1" if not persona else "/run 2")
    await session.settle()


async def test_a_caption_that_fits_every_network_makes_no_call_and_no_variant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = FittingModel("Who grades the grader? #evals")
    async with networks() as fakes, FakeOpenAI(reply_fn=model) as text:
        kinds = ("bluesky", "mastodon", "x")
        settings = network_settings(tmp_path, fakes, monkeypatch, kinds, text=text)
        async with console_session(settings) as session:
            await draft(session)
            card = await session.type("/post 1")
            await draft(session, " persona:quiet")
            quiet = await session.type("/post 2")
    assert model.asked["FittedCaption"] == 0
    assert [line.split(" · ")[0:2] for line in pipeline_lines(card)] == [
        ["Draft done openai", "draft-model-test"],
        ["Fit for networks done local", "limits"],
    ]
    assert "· $0.00 ·" in pipeline_lines(card)[1]
    assert fakes.mastodon.requests_to("GET", "/api/v2/instance/")  # its limits were read
    assert rows(settings.db_path, "SELECT * FROM caption_variants") == []
    assert "For " not in session.transcript
    # A persona that publishes to no network has no fit step at all.
    assert [line.split(" ")[0] for line in pipeline_lines(quiet)] == ["Draft"]


async def test_a_caption_too_long_for_x_gets_an_x_text_shown_and_sent_to_x_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = FittingModel(LONG_FOR_X)
    assert len(LONG_FOR_X) <= 500 < weighted_length(LONG_FOR_X) + 200  # fits Mastodon, not X
    async with networks() as fakes, FakeOpenAI(reply_fn=model) as text:
        settings = network_settings(tmp_path, fakes, monkeypatch, ("mastodon", "x"), text=text)
        async with site_session(settings) as site, httpx.AsyncClient() as http:
            session = site.session
            await draft(session)
            card = await session.type("/post 1")
            drafted = session.transcript
            page = (await http.get(site.link("/p/1"))).text
            await session.type("react post 1 ✅", user="editor")
            await session.settle()
    # The first rewrite counted characters, not X's weights (319 of 280): asked once more.
    assert model.asked["FittedCaption"] == 2
    fit_line = pipeline_lines(card)[1]
    assert fit_line.startswith("Fit for networks done openai · draft-model-test · $0.20 · api ")
    [(kind, variant)] = rows(settings.db_path, "SELECT destination, text FROM caption_variants")
    assert kind == "x" and weighted_length(variant) <= 280 and variant.endswith("… #evals")
    assert "  For X\n" in drafted and variant in drafted.split("  For X\n", 1)[1]
    assert "For Mastodon" not in drafted
    assert f"<h2>For X</h2>\n    <p>{variant}</p>" in page  # the post page shows it too
    assert [post.text for post in fakes.x.posts] == [variant]
    assert list(fakes.mastodon.sources.values()) == [LONG_FOR_X]
    costs = rows(settings.db_path, "SELECT cost_usd FROM steps WHERE name = 'fit_caption'")
    assert costs == [(pytest.approx(0.20),)]


async def test_a_caption_no_rewrite_can_fit_fails_the_draft_before_approval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tags = ("#AccountabilityInPublic", "#ModelEvaluationsMatter")  # 47 characters, kept whole
    async with networks(max_characters=40) as fakes:
        kinds = ("bluesky", "mastodon", "x")
        settings = network_settings(tmp_path, fakes, monkeypatch, kinds, hashtags=tags)
        async with console_session(settings) as session:
            await draft(session)
            [(caption, status, error)] = rows(
                settings.db_path, "SELECT caption, status, error FROM posts"
            )
            await session.type("react post 1 ✅", user="editor")
            await session.settle()
            said = session.transcript
    reason = (
        f"fit caption failed: the caption is {len(caption)} characters; Mastodon takes 40, and "
        "the rewrite was 47: shorten the idea or refine the plan"
    )
    assert (status, error) == ("failed", reason)
    assert reason in said  # the failed draft's card, which offers only 🔁
    assert "✅ approve" not in said
    assert rows(settings.db_path, "SELECT status FROM posts") == [("failed",)]
    assert rows(settings.db_path, "SELECT * FROM publication_targets") == []
    assert (fakes.bluesky.posts, fakes.mastodon.statuses, fakes.x.posts) == ([], [], [])


async def test_limits_that_cannot_be_read_are_retried_then_fail_the_draft_until_regenerated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with networks() as fakes:
        fakes.mastodon.fail(503, times=99, method="GET", path="/api/v2/instance")
        settings = network_settings(tmp_path, fakes, monkeypatch, ("mastodon",))
        async with console_session(settings) as session:
            await draft(session)
            [(status, error)] = rows(settings.db_path, "SELECT status, error FROM posts")
            reads = len(fakes.mastodon.requests_to("GET", "/api/v2/instance/"))
            fakes.mastodon.faults.clear()  # the instance answers again
            await session.type("react post 1 🔁", user="writer")
            await session.settle()
            card = await session.type("/post 1")
    assert status == "failed"
    assert error == (
        "fit caption failed: Mastodon (127.0.0.1) answered 503 when asked to read the instance's"
        f" limits; try again (gave up after {settings.max_attempts} attempts)"
    )
    assert reads == settings.max_attempts  # retried as a provider call is
    assert rows(settings.db_path, "SELECT status FROM posts") == [("awaiting_approval",)]
    assert rows(
        settings.db_path, "SELECT post_rev, name, status FROM steps WHERE post_id = 1 ORDER BY id"
    ) == [
        (1, "draft", "done"),
        (1, "fit_caption", "failed"),
        (2, "draft", "done"),
        (2, "fit_caption", "done"),
    ]
    assert "draft 2" in session.transcript and "Fit for networks done local" in card
