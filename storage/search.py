"""The library's full-text search (SQLite FTS5): a user's words as a safe query, scoped to one
channel inside the index."""

from __future__ import annotations

import re

from aiosqlite import Connection

from storage.db import fetchall, fetchone
from storage.models import Place, Post

_WORD = re.compile(r"[\w']+", re.UNICODE)

# Words nearly every post has: matching on them would make a question match the whole library,
# and ranking every match is what a search costs.
STOP_WORDS = frozenset(
    """
    about after again all also and any are because been before being between both but can
    could did does doing down during each few for from further had has have having her here
    hers him his how into its just more most not now off once only other our ours out over own
    same she should some such than that the their theirs them then there these they this those
    through too under until very was were what when where which while who whom why will with
    would you your yours say said says tell told post posts
    """.split()  # noqa: SIM905 - a word list reads better as text
)


# A word matching more posts than this in a channel tells them apart too little to rank on:
# ranking scores every match, so one such word costs as much as the channel is large.
COMMON_AT = 2000
MOST_WORDS = 12


def telling_words(text: str) -> list[str]:
    """The words of user text worth searching for: long enough, not stop words, each once."""
    words = [w.replace("'", "") for w in _WORD.findall(text.lower())]
    return [w for w in dict.fromkeys(words) if len(w) > 2 and w not in STOP_WORDS][:MOST_WORDS]


def quoted(word: str) -> str:
    """A word as an FTS5 string: no FTS syntax leaks through."""
    return '"' + word.replace('"', "") + '"'


def place_query(place: Place) -> str:
    """The channel as one FTS5 term on the `place` column (`slackc0123`)."""
    token = "".join(ch for ch in f"{place[0]}{place[1]}".lower() if ch.isalnum())
    return f"place : {quoted(token)}"


async def _common(conn: Connection, place: str, word: str) -> bool:
    row = await fetchone(
        conn,
        "SELECT COUNT(*) AS n FROM (SELECT 1 FROM post_search WHERE post_search MATCH ? LIMIT ?)",
        (f"{place} AND {quoted(word)}", COMMON_AT + 1),
    )
    return row is not None and int(row["n"]) > COMMON_AT


async def search_posts(conn: Connection, text: str, *, place: Place, limit: int = 5) -> list[Post]:
    """The best matches among the posts of one channel only: any of the question's telling
    words, leaving out those common in the channel (counted, up to COMMON_AT); when every word
    is common, the posts that have them all."""
    words = telling_words(text)
    if not words:
        return []
    channel = place_query(place)
    telling = [w for w in words if not await _common(conn, channel, w)]
    if telling:
        query = " OR ".join(quoted(w) for w in telling)
    else:
        query = " AND ".join(quoted(w) for w in words)
    rows = await fetchall(
        conn,
        "SELECT p.* FROM post_search s JOIN posts p ON p.id = s.rowid"
        " WHERE post_search MATCH ? AND p.platform = ? AND p.channel_id = ?"
        " ORDER BY bm25(post_search) LIMIT ?",
        (f"{channel} AND ({query})", *place, limit),
    )
    return [Post.from_row(r) for r in rows]
