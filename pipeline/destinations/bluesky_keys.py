"""Bluesky's counting and the post's record key.

Bluesky counts a post's text in extended grapheme clusters (what a reader sees as one
character: a flag, a family emoji, an accented letter written as two code points) and caps its
UTF-8 size too. A post's record key must be a TID, so the key that makes a retry land on the
same record is a TID built from fixed inputs rather than the clock at the moment of posting.
"""

from __future__ import annotations

import hashlib

import regex

_GRAPHEME = regex.compile(r"\X")
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"  # base32-sortable
_TID_CHARS = 13
_CLOCK_IDS = 1024  # a TID's low 10 bits


def grapheme_count(text: str) -> int:
    return len(_GRAPHEME.findall(text))


def utf8_size(text: str) -> int:
    return len(text.encode("utf-8"))


def post_rkey(created_at: float, post_id: int, rev: int) -> str:
    """The TID for this post and revision: `created_at` in microseconds, and a clock id from the
    post (hashed, so posts made in the same microsecond rarely share one) plus the revision (so
    two revisions of one post never do)."""
    micros = round(created_at * 1_000_000)
    if not 0 <= micros < 2**53:
        raise ValueError(f"created_at {created_at!r} is outside a TID's range")
    digest = hashlib.blake2b(str(post_id).encode(), digest_size=2).digest()
    clock_id = (int.from_bytes(digest, "big") + rev) % _CLOCK_IDS
    value = (micros << 10) | clock_id
    chars = []
    for _ in range(_TID_CHARS):
        chars.append(_TID_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))
