"""Command text: free words plus `key:value` options, values quoted when they hold spaces.

>>> parse_options('benchmarks as safety cases pillar:structural_dread special:"1 video"',
...               {"pillar", "special"})
('benchmarks as safety cases', {'pillar': 'structural_dread', 'special': '1 video'})
"""

from __future__ import annotations

import re
import unicodedata

from handlers.ports import UserError

_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’"}
_OPTION = re.compile(r"([A-Za-z_]+):")
# Bidirectional controls and zero-width characters: invisible, and a way to disguise text.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def clean(text: str) -> str:
    """Drop invisible and control characters (keeping newlines and tabs), trim the ends."""
    text = _INVISIBLE.sub("", text)
    text = "".join(
        ch for ch in text if ch in "\n\t" or not unicodedata.category(ch).startswith("C")
    )
    return text.strip()


def parse_options(text: str, allowed: set[str]) -> tuple[str, dict[str, str]]:
    """Split `text` into its free words and the options named in `allowed`."""
    free: list[str] = []
    options: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        match = _OPTION.match(text, i)
        at_word_start = i == 0 or text[i - 1].isspace()
        if match and at_word_start and match.group(1).lower() in allowed:
            key = match.group(1).lower()
            value, i = _read_value(text, match.end(), key)
            if key in options:
                raise UserError(f"`{key}:` is given twice; give it once.")
            if not value:
                raise UserError(f"`{key}:` has no value; write it like {key}:NAME.")
            options[key] = value
            continue
        end = i
        while end < n and not text[end].isspace():
            end += 1
        free.append(text[i:end])
        i = end
    return " ".join(free), options


def _read_value(text: str, start: int, key: str) -> tuple[str, int]:
    if start < len(text) and text[start] in _QUOTES:
        closing = _QUOTES[text[start]]
        end = text.find(closing, start + 1)
        if end < 0:
            raise UserError(f"the quote after `{key}:` is not closed; end it with {closing}.")
        return text[start + 1 : end].strip(), end + 1
    end = start
    while end < len(text) and not text[end].isspace():
        end += 1
    return text[start:end], end


_ID = re.compile(r"^(?:(?:plan|post)\s*)?#?([0-9]{1,9})$", re.IGNORECASE)


def parse_id(text: str, kind: str) -> int:
    """`12`, `#12` or `plan 12` → 12; anything else is refused with an example."""
    match = _ID.match(text.strip())
    if not match:
        shown = text.strip()[:40] or "nothing"
        raise UserError(f"`{shown}` is not a {kind} id; give its number, like `12` or `#12`.")
    return int(match.group(1))
