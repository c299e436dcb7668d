"""How Mastodon counts a status, and how a status's HTML reads back as the text that was sent.

Mastodon's StatusLengthValidator counts grapheme clusters (an emoji with its skin tone is one),
every http(s) URL as `characters_reserved_per_url` (23) and a mention `@user@domain` as `@user`.
"""

from __future__ import annotations

import html
import re

import regex

URL_WEIGHT = 23
# A URL as Mastodon's extractor sees it, minus the punctuation that usually ends a sentence.
_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_URL_TRAILING = ".,;:!?)]}'\""
# Mastodon's Account::MENTION_RE: a remote mention counts only its local part.
_MENTION = re.compile(
    r"(?<![=/\w])@([a-z0-9_]+(?:[a-z0-9_.-]+[a-z0-9_]+)?)(?:@[\w.-]+\w+)",
    re.IGNORECASE,
)


def status_length(text: str, url_weight: int = URL_WEIGHT) -> int:
    """`text`'s length against the instance's max_characters."""
    length = 0
    position = 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(_URL_TRAILING)
        if "." not in url.split("://", 1)[1].split("/", 1)[0]:
            continue  # no domain with a TLD: Mastodon leaves it as text
        length += _plain_length(text[position : match.start()]) + url_weight
        position = match.start() + len(url)
    return length + _plain_length(text[position:])


_GRAPHEME = regex.compile(r"\X")


def _plain_length(text: str) -> int:
    return len(_GRAPHEME.findall(_MENTION.sub(r"@\1", text)))


_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_PARAGRAPH = re.compile(r"</p>\s*<p[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def html_as_text(content: str) -> str:
    """A status's `content` (Mastodon's HTML) as plain text: paragraphs and line breaks back to
    newlines, tags (links, the URL-shortening spans, mention and hashtag wrappers) dropped."""
    text = _PARAGRAPH.sub("\n\n", content)
    text = _BREAK.sub("\n", text)
    return html.unescape(_TAG.sub("", text))


def same_text(sent: str, shown: str) -> bool:
    """Whether `shown` (read back) is `sent`, ignoring the whitespace Mastodon re-flows."""
    return _SPACE.sub(" ", sent).strip() == _SPACE.sub(" ", shown).strip()
