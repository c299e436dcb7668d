"""A post's length as X counts it: twitter-text's v3 weighting, written out because no kept Python
package does it.

The v3 configuration (twitter-text `config/v3.json`): scale 100, default weight 200, and these
code point ranges weigh 100: 0-4351 (Latin, Greek, Cyrillic, Hebrew, Arabic, Indic scripts,
Thai, Georgian...), 8192-8205 (spaces, zero-width joiner), 8208-8223 (dashes, quotes),
8242-8247 (primes). Everything else (CJK, kana, Hangul, the ellipsis, symbols) weighs 200. An
emoji sequence (a ZWJ family, a flag, a skin tone, a keycap) weighs 200 however many code points
it has, and every URL counts 23 characters, whatever its length. The text is NFC-normalised
first, as twitter-text does, and counted by code point.

Where twitter-text's URL rules are finer than this (its TLD list), this counter errs long: a
text it passes is never refused by X for its length.
"""

from __future__ import annotations

import re
import unicodedata

MAX_WEIGHTED_LENGTH = 280
URL_LENGTH = 23
_SCALE = 100
_DEFAULT_WEIGHT = 200
_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))

_MODIFIERS = "(?:\ufe0f|[\U0001f3fb-\U0001f3ff])*"
_PICTOGRAPH = (
    "(?:[\u00a9\u00ae]\ufe0f"  # © and ® are emoji only with the emoji presentation selector
    "|[\u203c\u2049\u2122\u2139\u2194-\u2199\u21a9\u21aa\u231a-\u23ff\u24c2\u25aa-\u25fe"
    "\u2600-\u27bf\u2934\u2935\u2b05-\u2b55\u3030\u303d\u3297\u3299\U0001f000-\U0001faff])"
)
_EMOJI = re.compile(
    "[0-9#*]\ufe0f?\u20e3"  # keycaps
    "|[\U0001f1e6-\U0001f1ff]{2}"  # flags: two regional indicators
    "|\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f"  # subdivision flags (tag sequences)
    f"|{_PICTOGRAPH}{_MODIFIERS}(?:\u200d{_PICTOGRAPH}{_MODIFIERS})*"
)

# gTLDs twitter-text links without a scheme; any two-letter ccTLD links too, but only with a
# path or a subdomain ("socket.io" and "README.md" are not links, "bit.ly/x" is).
_GTLDS = (
    "com|net|org|info|biz|edu|gov|mil|int|name|pro|mobi|aero|coop|museum|jobs|travel|app|dev"
    "|page|blog|shop|store|online|site|tech|xyz|club|news|live|media|social|world|today|life"
    "|email|link|cloud|design|studio|art|space|website|network|digital|agency|company"
)
_HOST_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_PATH = r"(?:/[^\s]*)?"
_URL = re.compile(
    r"(?<![\w@$#./-])(?:"
    r"https?://[^\s]+"
    rf"|(?:{_HOST_LABEL}\.)+(?:{_GTLDS})(?::\d+)?{_PATH}(?![\w-])"
    rf"|(?:{_HOST_LABEL}\.){{2,}}[a-z]{{2}}(?::\d+)?{_PATH}(?![\w-])"
    rf"|{_HOST_LABEL}\.[a-z]{{2}}(?::\d+)?/[^\s]*"
    r")",
    re.IGNORECASE,
)
_TRAILING = ".,;:!?'\"”’)]}>…"


def url_spans(text: str) -> list[tuple[int, int]]:
    """Where the URLs are in `text` (already NFC), trailing punctuation left out."""
    spans: list[tuple[int, int]] = []
    for match in _URL.finditer(text):
        start, end = match.span()
        while end > start and text[end - 1] in _TRAILING:
            if text[end - 1] == ")" and text[start:end].count("(") >= text[start:end].count(")"):
                break
            end -= 1
        if end > start:
            spans.append((start, end))
    return spans


def _weight(char: str) -> int:
    point = ord(char)
    if any(low <= point <= high for low, high in _LIGHT_RANGES):
        return _SCALE
    return _DEFAULT_WEIGHT


def weighted_length(text: str) -> int:
    """The text's weighted length, compared with 280 (`MAX_WEIGHTED_LENGTH`)."""
    text = unicodedata.normalize("NFC", text)
    urls = dict(url_spans(text))
    total = 0
    i = 0
    while i < len(text):
        if i in urls:
            total += URL_LENGTH * _SCALE
            i = urls[i]
            continue
        emoji = _EMOJI.match(text, i)
        if emoji is not None:
            total += _DEFAULT_WEIGHT
            i = emoji.end()
            continue
        total += _weight(text[i])
        i += 1
    return (total + _SCALE - 1) // _SCALE
