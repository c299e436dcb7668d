"""Cards as Block Kit: inside Slack's limits for any card, cut at a word with a pointer to the
rest, short sections kept whole; checked with the fake Slack's own validator."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.slack_blocks import (
    BLOCKS_JSON_BUDGET,
    FALLBACK_CHARS,
    HEADER_CHARS,
    SECTION_CHARS,
    cut,
    escape,
    level_for,
    render,
    utf16_len,
)
from bot.slack_port import SlackClient, SlackPort, retry_handlers
from handlers.ports import Card, Section
from tests.fakes.slack import MAX_BLOCKS_JSON, FakeSlack, block_errors


def sections_of(blocks: list[dict[str, object]]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]  # type: ignore[index]


def test_a_short_card() -> None:
    card = Card(
        "post 3 · @aiaaron · hero_text · draft 1",
        (Section(None, "A headline"), Section("Body", "x < y & z")),
        footer="✅ approve · /post 3",
        more="/post 3",
    )
    message = render(card)
    assert message.blocks == [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": card.title, "emoji": True},
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": "A headline"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Body*\nx &lt; y &amp; z"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "✅ approve · /post 3"}]},
    ]
    assert message.text == escape(card.plain_text())


def test_cut_at_a_word_with_the_pointer() -> None:
    assert cut("short", 10) == "short"
    assert cut("one two three four", 12) == "one two…"
    assert cut("one two three four five six", 26, " (/post 1)") == "one two three… (/post 1)"
    assert cut("abcdefghijklmnop", 8) == "abcdefg…"  # no space near the end: a hard cut


# Each repeat is 9 code points and 10 UTF-16 units: 330 of them fit 3000 by code points only.
ASTRAL_BODY = "launch 🚀 " * 330
ASTRAL_TITLE = "🚀" * 100  # 100 code points, 200 UTF-16 units: over a header's 150


def astral_card() -> Card:
    return Card(ASTRAL_TITLE, (Section("Body", ASTRAL_BODY),), more="/post 7")


def test_astral_text_is_cut_to_utf16_units_at_a_word() -> None:
    assert len(ASTRAL_BODY) < SECTION_CHARS < utf16_len(ASTRAL_BODY)
    message = render(astral_card())
    header = message.blocks[0]["text"]["text"]
    [body] = sections_of(message.blocks)
    assert utf16_len(header) <= HEADER_CHARS and header.endswith("🚀…")
    assert utf16_len(body) <= SECTION_CHARS and body.endswith(" 🚀… (the rest: /post 7)")
    assert body.startswith("*Body*\nlaunch 🚀 launch")
    assert utf16_len(message.text) <= FALLBACK_CHARS
    for text in (header, body, message.text):
        text.encode("utf-16-le")  # strict: no half of a surrogate pair was left
    assert block_errors(message.blocks) == []
    assert cut("ab 😀😀", 4) == "ab…" and cut("😀😀😀", 4) == "😀…"


async def test_the_fake_slack_accepts_the_cut_astral_card() -> None:
    async with FakeSlack() as fake:
        client = SlackClient(
            token=fake.bot_token, base_url=fake.api_url, retry_handlers=retry_handlers()
        )
        ref = await SlackPort(client).send("C1", astral_card())
        [call] = fake.calls_of("chat.postMessage")
        assert call.ok
        stored = fake.message("C1", ref.message_id)
        assert stored is not None and not stored.truncated
        assert stored.blocks is not None and stored.blocks[0]["text"]["text"].endswith("🚀…")


def test_long_title_and_empty_parts() -> None:
    title = "word " * 60
    message = render(Card(title, (Section(None, "  "), Section(None, "kept"))))
    header = message.blocks[0]["text"]["text"]
    assert len(header) <= HEADER_CHARS and header.endswith("word…")
    assert sections_of(message.blocks) == ["kept"]
    assert render(Card("", (Section(None, "only"),))).blocks[0]["type"] == "section"


def test_short_sections_survive_whole_while_long_ones_give_way() -> None:
    status = "published · May 11, 5:53 PM · $0.06 total"
    long_text = "All work and no play makes a dull draft. " * 400
    card = Card(
        "post 9",
        (
            Section(None, status),
            *(Section(h, long_text) for h in ("Body", "Caption", "Pipeline")),
            Section("Chat References", "No bot turns have referenced this post yet."),
        ),
        more="/post 9",
    )
    message = render(card)
    texts = sections_of(message.blocks)
    assert texts[0] == status and texts[-1].endswith("referenced this post yet.")
    assert all(t.endswith("… (the rest: /post 9)") for t in texts[1:4])
    lengths = [len(t) for t in texts[1:4]]
    assert max(lengths) - min(lengths) < 50  # they share what room there is
    assert len(json.dumps(message.blocks)) <= BLOCKS_JSON_BUDGET
    assert block_errors(message.blocks) == []


def test_escaped_text_still_fills_its_section() -> None:
    message = render(Card("t", (Section("Body", "a & b < c > d " * 1000),), more="/post 2"))
    [body] = sections_of(message.blocks)
    assert 2900 <= len(body) <= 3000 and body.endswith(" b… (the rest: /post 2)")
    assert "&amp; b &lt; c &gt; d" in body


def test_water_level() -> None:
    assert level_for([10, 5, 1], 5) == 5
    assert level_for([10, 5, 1], 6) == 4
    assert level_for([10, 10], 4) == 8
    assert level_for([3], 10) == 0


texts = st.text(
    alphabet=st.sampled_from(list("abc xyz\n&<>*_é😀✅🚀𝒳")) | st.characters(), max_size=7000
)
cards = st.builds(
    Card,
    title=st.text(max_size=400),
    sections=st.lists(
        st.builds(Section, st.none() | st.text(max_size=200), texts), max_size=60
    ).map(tuple),
    footer=st.none() | st.text(max_size=3000),
    more=st.none() | st.just("/post 34"),
)


@settings(max_examples=150, deadline=None)
@given(cards)
def test_any_card_renders_inside_the_limits(card: Card) -> None:
    message = render(card)
    assert block_errors(message.blocks) == []
    assert len(json.dumps(message.blocks)) <= BLOCKS_JSON_BUDGET < MAX_BLOCKS_JSON
    assert utf16_len(message.text) <= FALLBACK_CHARS
    for block in message.blocks:
        if block["type"] == "section":
            assert block["text"]["text"].strip()
        if block["type"] == "header":
            assert block["text"]["text"]
