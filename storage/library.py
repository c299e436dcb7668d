"""The library's queries: one channel's posts by status, persona, pillar, date and words, newest
first, paged by id (keyset: a page costs the same at post 10 and post 100,000)."""

from __future__ import annotations

from dataclasses import dataclass

from aiosqlite import Connection

from storage.db import fetchall, fetchone
from storage.models import Place, Post
from storage.search import place_query, quoted, telling_words

# Tabs count up to this many posts each; more reads as "10000+".
COUNT_CAP = 10_000


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    persona: str | None = None
    pillar: str | None = None
    since: float | None = None  # created at or after
    until: float | None = None  # created before
    words: str = ""


def _where(place: Place, filters: Filters, *, status: bool = True) -> tuple[str, list[object]]:
    clauses, params = ["p.platform = ?", "p.channel_id = ?"], list[object](place)
    if status and filters.status:
        clauses.append("p.status = ?")
        params.append(filters.status)
    for column in ("persona", "pillar"):
        value = getattr(filters, column)
        if value:
            clauses.append(f"p.{column} = ?")
            params.append(value)
    if filters.since is not None:
        clauses.append("p.created_at >= ?")
        params.append(filters.since)
    if filters.until is not None:
        clauses.append("p.created_at < ?")
        params.append(filters.until)
    return " AND ".join(clauses), params


def _match(place: Place, words: str) -> str | None:
    """The FTS query for the library's search box: posts with every telling word (the index
    `/ask` reads, scoped by its `place` column); None when no word is telling."""
    found = telling_words(words)
    if not found:
        return None
    return f"{place_query(place)} AND " + " AND ".join(quoted(w) for w in found)


def _source(place: Place, filters: Filters) -> tuple[str, list[object]] | None:
    """What the posts are read from; None when the words match nothing (only stop words)."""
    if not filters.words.strip():
        return "posts p", []
    match = _match(place, filters.words)
    if match is None:
        return None
    return (
        "posts p JOIN (SELECT rowid FROM post_search WHERE post_search MATCH ?) s"
        " ON p.id = s.rowid",
        [match],
    )


async def page_of_posts(
    conn: Connection,
    place: Place,
    filters: Filters,
    *,
    before: int | None = None,
    after: int | None = None,
    limit: int = 25,
) -> list[Post]:
    """Up to `limit` posts, newest first: older than `before`, or the newest ones newer than
    `after` (the page before this one)."""
    found = _source(place, filters)
    if found is None:
        return []
    source, params = found
    where, more = _where(place, filters)
    params += more
    order = "DESC"
    if before is not None:
        where += " AND p.id < ?"
        params.append(before)
    elif after is not None:
        where += " AND p.id > ?"
        params.append(after)
        order = "ASC"
    rows = await fetchall(
        conn,
        f"SELECT p.* FROM {source} WHERE {where} ORDER BY p.id {order} LIMIT ?",
        (*params, limit),
    )
    page = [Post.from_row(r) for r in rows]
    return page if order == "DESC" else page[::-1]


async def count_by_status(
    conn: Connection, place: Place, filters: Filters, statuses: tuple[str, ...]
) -> dict[str, int]:
    """How many posts each tab holds under the other filters, each counted up to COUNT_CAP+1."""
    found = _source(place, filters)
    if found is None:
        return dict.fromkeys(statuses, 0)
    source, params = found
    where, more = _where(place, filters, status=False)
    counts = {}
    for status in statuses:
        row = await fetchone(
            conn,
            f"SELECT COUNT(*) AS n FROM (SELECT 1 FROM {source} WHERE {where} AND p.status = ?"
            " LIMIT ?)",
            (*params, *more, status, COUNT_CAP + 1),
        )
        counts[status] = int(row["n"]) if row else 0
    return counts
