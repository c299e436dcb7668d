"""The library's queries: one channel's posts by status, persona, pillar, date and words, newest
first, paged by id (keyset: a page costs the same at post 10 and post 100,000)."""

from __future__ import annotations

from dataclasses import dataclass

from storage import fulltext
from storage.db import Connection, fetchall, fetchone
from storage.fulltext import Match
from storage.models import Place, Post
from storage.search import telling_words

# Tabs count up to this many posts each; more reads as "10000+". A search counts its newest
# SEARCH_CAP matches, and says "+" when there are more.
COUNT_CAP = 10_000
SEARCH_CAP = 2_000


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


def _match(place: Place, words: str) -> Match | None:
    """The library's search box: posts with every telling word (the index `/ask` reads);
    None when no word is telling."""
    found = telling_words(words)
    return Match(place, tuple(found), every=True) if found else None


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
    `after` (the page before this one). With words, the search index leads: it yields its
    matches newest first, so a page stops after `limit` rows however many posts match."""
    where, params = _where(place, filters)
    if filters.words.strip():
        match = _match(place, filters.words)
        if match is None:
            return []
        source, key = fulltext.source(conn.dialect), fulltext.key(conn.dialect)
        condition, found = fulltext.condition(conn.dialect, match)
        where = f"{condition} AND {where}"
        params[:0] = found
    else:
        source, key = "posts p", "p.id"
    order = "DESC"
    if before is not None:
        where += f" AND {key} < ?"
        params.append(before)
    elif after is not None:
        where += f" AND {key} > ?"
        params.append(after)
        order = "ASC"
    rows = await fetchall(
        conn,
        f"SELECT p.* FROM {source} WHERE {where} ORDER BY {key} {order} LIMIT ?",
        (*params, limit),
    )
    page = [Post.from_row(r) for r in rows]
    return page if order == "DESC" else page[::-1]


async def count_by_status(
    conn: Connection, place: Place, filters: Filters, statuses: tuple[str, ...]
) -> tuple[dict[str, int], bool]:
    """How many posts each tab holds under the other filters, and whether the counts are only
    lower bounds. Without words, each tab counts up to COUNT_CAP+1 on its index (more than
    COUNT_CAP reads as "10000+"); with words, one pass groups the newest SEARCH_CAP+1 matches,
    and when there are more, every count is a lower bound."""
    where, params = _where(place, filters, status=False)
    if not filters.words.strip():
        counts = {}
        for status in statuses:
            row = await fetchone(
                conn,
                f"SELECT COUNT(*) AS n FROM (SELECT 1 FROM posts p WHERE {where}"
                " AND p.status = ? LIMIT ?)",
                (*params, status, COUNT_CAP + 1),
            )
            counts[status] = int(row["n"]) if row else 0
        return counts, False
    match = _match(place, filters.words)
    if match is None:
        return dict.fromkeys(statuses, 0), False
    condition, found_params = fulltext.condition(conn.dialect, match)
    key = fulltext.key(conn.dialect)
    newest = f"SELECT {key} AS id FROM post_search s WHERE {condition} ORDER BY {key} DESC LIMIT ?"
    rows = await fetchall(
        conn,
        f"SELECT p.status AS status, COUNT(*) AS n FROM ({newest}) m"
        f" JOIN posts p ON p.id = m.id WHERE {where} GROUP BY p.status",
        (*found_params, SEARCH_CAP + 1, *params),
    )
    seen = await fetchone(
        conn, f"SELECT COUNT(*) AS n FROM ({newest}) m", (*found_params, SEARCH_CAP + 1)
    )
    found = {str(r["status"]): int(r["n"]) for r in rows}
    capped = seen is not None and int(seen["n"]) > SEARCH_CAP
    return {s: found.get(s, 0) for s in statuses}, capped
