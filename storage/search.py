"""`/ask`'s search: a user's words as a safe query on the full-text index (storage/fulltext.py),
scoped to one channel inside it."""

from __future__ import annotations

import re

from storage import fulltext
from storage.db import Connection, fetchall, fetchone
from storage.fulltext import Match
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


async def _common(conn: Connection, match: Match) -> bool:
    condition, params = fulltext.condition(conn.dialect, match)
    row = await fetchone(
        conn,
        f"SELECT COUNT(*) AS n FROM (SELECT 1 FROM post_search s WHERE {condition} LIMIT ?) c",
        (*params, COMMON_AT + 1),
    )
    return row is not None and int(row["n"]) > COMMON_AT


async def search_posts(conn: Connection, text: str, *, place: Place, limit: int = 5) -> list[Post]:
    """The best matches among the posts of one channel only: any of the question's telling
    words, leaving out those common in the channel (counted, up to COMMON_AT); when every word
    is common, the posts that have them all."""
    words = telling_words(text)
    if not words:
        return []
    everything = Match(place, tuple(words), every=True)
    telling = [w for w in words if not await _common(conn, everything.narrowed(w))]
    match = Match(place, tuple(telling), every=False) if telling else everything
    condition, params = fulltext.condition(conn.dialect, match)
    order, order_params = fulltext.best_first(conn.dialect, match)
    rows = await fetchall(
        conn,
        f"SELECT p.* FROM {fulltext.source(conn.dialect)}"
        f" WHERE {condition} AND p.platform = ? AND p.channel_id = ? ORDER BY {order} LIMIT ?",
        (*params, *place, *order_params, limit),
    )
    return [Post.from_row(r) for r in rows]
