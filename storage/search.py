"""The library's full-text search (SQLite FTS5): a user's words as a safe query, scoped to one
channel inside the index."""

from __future__ import annotations

import re

from aiosqlite import Connection

from storage.db import fetchall
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


def fts_query(text: str) -> str:
    """User text as an FTS5 query of its telling words, quoted and OR-ed together: no FTS syntax
    leaks through, and words too short or too common to tell posts apart are left out."""
    words = [w.replace("'", "") for w in _WORD.findall(text.lower())]
    words = [w for w in dict.fromkeys(words) if len(w) > 2 and w not in STOP_WORDS][:24]
    return " OR ".join(f'"{w}"' for w in words)


def place_query(place: Place) -> str:
    """The channel as one FTS5 term on the `place` column (`slackc0123`)."""
    token = "".join(ch for ch in f"{place[0]}{place[1]}".lower() if ch.isalnum())
    return f'place : "{token}"'


async def search_posts(conn: Connection, text: str, *, place: Place, limit: int = 5) -> list[Post]:
    """The best matches among the posts of one channel only."""
    query = fts_query(text)
    if not query:
        return []
    rows = await fetchall(
        conn,
        "SELECT p.* FROM post_search s JOIN posts p ON p.id = s.rowid"
        " WHERE post_search MATCH ? AND p.platform = ? AND p.channel_id = ?"
        " ORDER BY bm25(post_search) LIMIT ?",
        (f"{place_query(place)} AND ({query})", *place, limit),
    )
    return [Post.from_row(r) for r in rows]
