"""Rendering cards for Discord, the emoji table and the command text (no network)."""

from __future__ import annotations

from pathlib import Path

import discord
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.discord_adapter import plain_emoji
from bot.discord_embeds import (
    DESCRIPTION_MAX,
    EMBEDS_MAX,
    EMBEDS_TOTAL_MAX,
    FOOTER_MAX,
    TITLE_MAX,
    cut,
    key_token,
    render,
    size,
    thread_name,
)
from handlers.ports import Card, Section, emoji_action

text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=9000)
short = st.text(min_size=1, max_size=400)


def embed_sizes(embeds: list[discord.Embed]) -> int:
    return sum(
        size(e.title or "") + size(e.description or "") + size(e.footer.text or "") for e in embeds
    )


@settings(max_examples=150, deadline=None)
@given(
    title=st.text(max_size=600),
    sections=st.lists(st.tuples(st.none() | short, text), max_size=30),
    footer=st.none() | st.text(max_size=3000),
    marker=st.none() | st.just(key_token("draft:1:1")),
)
def test_any_card_renders_inside_discords_limits(
    title: str, sections: list[tuple[str | None, str]], footer: str | None, marker: str | None
) -> None:
    card = Card(title, tuple(Section(h, t) for h, t in sections), footer, more="/post 1")
    embeds = render(card, marker=marker).embeds
    assert 1 <= len(embeds) <= EMBEDS_MAX
    assert embed_sizes(embeds) <= EMBEDS_TOTAL_MAX
    for embed in embeds:
        assert size(embed.title or "") <= TITLE_MAX
        assert size(embed.description or "") <= DESCRIPTION_MAX
        assert size(embed.footer.text or "") <= FOOTER_MAX
    if marker:
        assert (embeds[-1].footer.text or "").endswith(marker)


def test_long_text_is_cut_at_a_word_with_the_pointer() -> None:
    body = " ".join(f"word{i}" for i in range(2000))
    cut_body = cut(body, 1000, "/post 34")
    assert size(cut_body) <= 1000
    assert cut_body.endswith("… (more: /post 34)")
    assert cut_body.removesuffix("… (more: /post 34)").split()[-1] in body.split()
    assert cut("short", 1000, "/post 34") == "short"
    assert size(cut("🙂" * 600, 1001)) <= 1001  # astral characters count twice in UTF-16


def test_a_card_that_fits_is_shown_whole_in_one_embed() -> None:
    card = Card("post 3", (Section(None, "status"), Section("Body", "text")), footer="/post 3")
    [embed] = render(card, marker="drabc").embeds
    assert embed.title == "post 3"
    assert embed.description == "status\n\n**Body**\ntext"
    assert embed.footer.text == "/post 3 · drabc"


def test_images_become_attachments_shown_in_the_embed(tmp_path: Path) -> None:
    images = []
    for i in range(12):
        path = tmp_path / f"card{i}.png"
        path.write_bytes(b"png")
        images.append(path)
    rendered = render(Card("post 1", images=(*images, tmp_path / "missing.png")))
    assert rendered.images == images[:10]
    assert rendered.embeds[0].image.url == "attachment://card0.png"
    assert [f.filename for f in rendered.files()] == [p.name for p in images[:10]]
    assert rendered.full_text is None


def test_a_cut_card_comes_with_its_whole_text_as_a_file(tmp_path: Path) -> None:
    image = tmp_path / "card.png"
    image.write_bytes(b"png")
    card = Card("post 1", (Section("Body", "long " * 3000),), images=(image,) * 12)
    rendered = render(card)
    files = rendered.files()
    assert len(files) == 10 and files[-1].filename == "full-text.md"
    assert rendered.full_text == card.plain_text()


def test_key_tokens_fit_a_nonce_and_thread_names_fit() -> None:
    assert len(key_token("draft:123456789:12")) <= 25
    assert key_token("draft:1:1") != key_token("draft:1:2")
    assert len(thread_name("plan 1 · " + "x" * 300)) <= 100


@pytest.mark.parametrize(
    ("emoji", "action"),
    [
        ("✅", "approve"),
        ("✔️", "approve"),
        ("✔", "approve"),
        ("☑️", "approve"),
        ("❌", "reject"),
        ("✖️", "reject"),
        ("🔁", "regenerate"),
        ("🔄", "regenerate"),
        ("👍", None),
    ],
)
def test_one_table_maps_emoji_to_actions(emoji: str, action: str | None) -> None:
    name = plain_emoji(discord.PartialEmoji(name=emoji))
    assert name is not None and emoji_action(name) == action
    assert emoji_action(emoji) == action


def test_custom_emoji_are_no_action() -> None:
    assert plain_emoji(discord.PartialEmoji(name="✅", id=123)) is None
