"""Command text: the idea (or note) first, then its options, `key:value` words at the very end.

The rule, for every command that takes options: the text ends with a run of option words, each a
name, a colon and a value with no space between (`pillar:NAME`, values quoted when they hold
spaces: `special:"1 video"`). Everything before that run is the idea, word for word, so prose such
as `the pillar: safety story`, `10:30`, a link, or `pillar:x` followed by more prose stays prose.
In the run, a key the command does not take is refused rather than silently kept as prose, which
is what catches a mistyped key.

>>> parse_options('benchmarks as safety cases pillar:structural_dread special:"1 video"',
...               ("pillar", "special"), command="/propose")
('benchmarks as safety cases', {'pillar': 'structural_dread', 'special': '1 video'})
>>> parse_options("why the pillar: safety story matters at 10:30", ("pillar",), command="/propose")
('why the pillar: safety story matters at 10:30', {})
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from handlers.ports import UserError

_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’"}
# A name, a colon, and a value right after it. `name://` is a link and `std::x` is code:
# neither is an option.
_OPTION_START = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):(?!//|:)(?=\S)")
# Bidirectional controls and zero-width characters: invisible, and a way to disguise text.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def clean(text: str) -> str:
    """Drop invisible and control characters (keeping newlines and tabs), trim the ends."""
    text = _INVISIBLE.sub("", text)
    text = "".join(
        ch for ch in text if ch in "\n\t" or not unicodedata.category(ch).startswith("C")
    )
    return text.strip()


@dataclass(frozen=True)
class _Word:
    start: int
    end: int
    key: str | None = None  # set when the word has the shape of an option
    value: str = ""
    text_after_quote: bool = False


def parse_options(
    text: str, keys: Sequence[str], *, command: str, prose: str | None = "idea"
) -> tuple[str, dict[str, str]]:
    """Split `text` into what comes before its trailing option words, and those options.

    `keys` are the options `command` takes; `prose` names the free text in messages (None when
    the command takes no free text, as /posts)."""
    words = _words(text, keys)
    first = len(words)
    while first > 0 and words[first - 1].key is not None:
        first -= 1
    run = words[first:]
    free = text[: run[0].start] if run else text
    _refuse_key_without_value(free, keys)
    options: dict[str, str] = {}
    for word in run:
        assert word.key is not None
        key = word.key.lower()
        shown = _shown(text[word.start : word.end])
        if key not in keys:
            takes = ", ".join(f"{k}:" for k in keys)
            hint = (
                f" To keep `{shown}` in the {prose}, put a space after the colon." if prose else ""
            )
            raise UserError(
                f"`{word.key[:30]}:` is not an option of {command}; it takes {takes}.{hint}"
            )
        if word.text_after_quote:
            raise UserError(f"`{shown}` has text right after its closing quote; end it there.")
        if key in options:
            raise UserError(f"`{key}:` is given twice; give it once.")
        if not word.value:
            raise UserError(f"`{key}:` has no value; write it like {key}:NAME.")
        options[key] = word.value
    return free.strip(), options


def _words(text: str, keys: Sequence[str]) -> list[_Word]:
    words: list[_Word] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        match = _OPTION_START.match(text, i)
        word = _option_word(text, match, keys) if match else None
        if word is None:
            word = _Word(i, _word_end(text, i))
        words.append(word)
        i = word.end
    return words


def _option_word(text: str, match: re.Match[str], keys: Sequence[str]) -> _Word | None:
    """The option-shaped word `match` starts; None when it is prose after all (an unclosed
    quote after a key the command does not take)."""
    key, start, value_start = match.group(1), match.start(), match.end()
    if text[value_start] not in _QUOTES:
        end = _word_end(text, value_start)
        return _Word(start, end, key, text[value_start:end])
    closing = _QUOTES[text[value_start]]
    close = text.find(closing, value_start + 1)
    if close < 0:
        if key.lower() in keys:
            # An unclosed quote would run to the end of the text, so it is always at the end.
            raise UserError(f"the quote after `{key}:` is not closed; end it with {closing}.")
        return None
    value = text[value_start + 1 : close].strip()
    end = _word_end(text, close + 1)
    return _Word(start, end, key, value, text_after_quote=end > close + 1)


def _word_end(text: str, i: int) -> int:
    while i < len(text) and not text[i].isspace():
        i += 1
    return i


def _refuse_key_without_value(free: str, keys: Sequence[str]) -> None:
    """`idea pillar:` (a known key, then nothing before the options) is an option left unfinished,
    not prose worth keeping."""
    last = free.split()[-1:] if free.strip() else []
    if last and last[0].endswith(":") and last[0][:-1].lower() in keys:
        key = last[0][:-1].lower()
        raise UserError(
            f"`{key}:` has no value; write it like {key}:NAME, with no space after the colon."
        )


def _shown(word: str) -> str:
    word = word.replace("`", "'")
    return word if len(word) <= 40 else word[:39] + "…"


_ID = re.compile(r"^(?:(?:plan|post)\s*)?#?([0-9]{1,9})$", re.IGNORECASE)


def parse_id(text: str, kind: str) -> int:
    """`12`, `#12` or `plan 12` → 12; anything else is refused with an example."""
    match = _ID.match(text.strip())
    if not match:
        shown = text.strip()[:40] or "nothing"
        raise UserError(f"`{shown}` is not a {kind} id; give its number, like `12` or `#12`.")
    return int(match.group(1))
