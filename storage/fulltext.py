"""The search index in each database's own full-text search, behind one shape of query.

SQLite: the FTS5 table `post_search` (porter stemming), its `rowid` the post's id, the channel
as one token on its `place` column. PostgreSQL: the table `post_search` with a `tsvector`
(the `english` configuration, which stems as porter does) and a GIN index, the channel in its
`place` column. Both are written in the transaction that writes the post's text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from storage.db import Connection, Dialect
from storage.models import Place


@dataclass(frozen=True)
class Match:
    """The posts of one channel with `words`: every one of them, or any."""

    place: Place
    words: tuple[str, ...]
    every: bool = True

    def narrowed(self, word: str) -> Match:
        """The channel's posts with just this word."""
        return Match(self.place, (word,), every=True)


def place_token(place: Place) -> str:
    """The channel as one index term (`slackc0123`)."""
    return "".join(ch for ch in f"{place[0]}{place[1]}".lower() if ch.isalnum())


def source(dialect: Dialect) -> str:
    """The index as `s`, joined to its posts as `p`."""
    return f"post_search s JOIN posts p ON p.id = {key(dialect)}"


def key(dialect: Dialect) -> str:
    """The post id column of the index, which a search pages on."""
    return "s.rowid" if dialect == "sqlite" else "s.post_id"


def condition(dialect: Dialect, match: Match) -> tuple[str, list[Any]]:
    """A WHERE condition on `post_search s` and its parameters."""
    joiner = " AND " if match.every else " OR "
    if dialect == "sqlite":
        words = joiner.join(_fts5_string(w) for w in match.words)
        place = f"place : {_fts5_string(place_token(match.place))}"
        return "post_search MATCH ?", [f"{place} AND ({words})"]
    words = (" & " if match.every else " | ").join(_tsquery_word(w) for w in match.words)
    return "s.place = ? AND s.document @@ to_tsquery('english', ?)", [
        place_token(match.place),
        words,
    ]


def best_first(dialect: Dialect, match: Match) -> tuple[str, list[Any]]:
    """An ORDER BY that ranks the best matches first, and its parameters."""
    if dialect == "sqlite":
        return "bm25(post_search)", []
    _, params = condition(dialect, match)
    return "ts_rank(s.document, to_tsquery('english', ?)) DESC", [params[1]]


async def index(conn: Connection, post_id: int, texts: Sequence[str], *, new: bool) -> None:
    """(Re)index a post's text, in its channel, in the caller's transaction. `texts` are the
    columns SQLite's table keeps apart (headline and body, caption, plan text)."""
    rows = await conn.execute_fetchall(
        "SELECT platform, channel_id FROM posts WHERE id = ?", (post_id,)
    )
    # The same token a search asks for: a channel named with its workspace (`T…/C…`) holds a
    # slash, at which SQLite's tokenizer would split the term in two.
    place = place_token((str(rows[0]["platform"]), str(rows[0]["channel_id"])))
    if conn.dialect == "sqlite":
        if not new:
            await conn.execute("DELETE FROM post_search WHERE rowid = ?", (post_id,))
        await conn.execute(
            "INSERT INTO post_search (rowid, body, caption, plan_text, place)"
            " VALUES (?, ?, ?, ?, ?)",
            (post_id, *texts, place),
        )
        return
    await conn.execute(
        "INSERT INTO post_search (post_id, place, document)"
        " VALUES (?, ?, to_tsvector('english', ?))"
        " ON CONFLICT (post_id) DO UPDATE SET place = excluded.place,"
        " document = excluded.document",
        (post_id, place, "\n".join(texts)),
    )


def _fts5_string(word: str) -> str:
    """A word as an FTS5 string: no FTS syntax leaks through."""
    return '"' + word.replace('"', "") + '"'


def _tsquery_word(word: str) -> str:
    """A word as a tsquery lexeme, quoted: no tsquery syntax leaks through."""
    return "'" + "".join(ch for ch in word if ch.isalnum() or ch == "_") + "'"
