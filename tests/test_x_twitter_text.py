"""X's weighted length (pipeline/destinations/x_twitter_text.py) on twitter-text's own cases."""

from __future__ import annotations

import pytest

from pipeline.destinations.x_twitter import XDestination
from pipeline.destinations.x_twitter_text import weighted_length


# twitter-text v3's weighting (its conformance file, validate.yml, "WeightedTweetsCounterTest"):
@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("Hello world", 11),
        ("a" * 280, 280),
        ("你好", 4),  # CJK weighs 2
        ("こんにちは", 10),  # kana weighs 2
        ("한국어", 6),  # Hangul weighs 2
        ("Привет", 6),  # Cyrillic weighs 1
        ("नमस्ते", 6),  # Devanagari weighs 1, per code point
        ("“quoted” — dash", 15),  # curly quotes and the em dash are in the light ranges
        ("wait…", 6),  # the ellipsis (U+2026) is not
        ("e\u0301", 1),  # NFC first: é
        ("😀", 2),
        ("👍🏽", 2),  # skin tone modifier
        ("👨\u200d👩\u200d👧\u200d👦", 2),  # a ZWJ family is one emoji
        ("🇫🇷", 2),  # a flag: two regional indicators
        ("1️⃣", 2),  # keycap
        ("🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f", 2),  # England
        ("©", 1),
        ("©️", 2),
        ("https://example.com/a/really/long/path/that/goes/on?and=on", 23),
        ("see http://x.co", 27),
        ("read docs.python.org today", 34),  # a bare domain with a gTLD is a URL
        ("bit.ly/abc", 23),  # a ccTLD with a path is a URL
        ("socket.io and README.md", 23),  # a bare ccTLD without a path is not
        ("mail me@example.com", 19),  # an address is not a URL
        ("(https://en.wikipedia.org/wiki/Foo_(bar)).", 26),
    ],
)
def test_text_length_weighs_like_twitter_text(text: str, length: int) -> None:
    assert XDestination("k", "s", "t", "ts").text_length(text) == length


def test_a_url_counts_23_whatever_its_length() -> None:
    short, long = "https://a.co", "https://example.com/" + "x" * 200
    assert weighted_length(f"{short} {long}") == 23 + 1 + 23
    assert weighted_length("a" * 257 + " " + long) == 281
