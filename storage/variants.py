"""Per-network captions of a post revision (pipeline/fit.py writes them), and the step that
writes them, added to an item's steps when its persona publishes to a network."""

from __future__ import annotations

from collections.abc import Mapping

from storage import steps
from storage.db import Connection, fetchall


async def store_variants(
    conn: Connection, post_id: int, rev: int, texts: Mapping[str, str], *, now: float
) -> None:
    """`texts` by destination kind, in the write that records the step that wrote them."""
    await conn.executemany(
        "INSERT INTO caption_variants (post_id, rev, destination, text, created_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (post_id, rev, destination)"
        " DO UPDATE SET text = excluded.text, created_at = excluded.created_at",
        [(post_id, rev, kind, text, now) for kind, text in texts.items()],
    )


async def variants_of(conn: Connection, post_id: int, rev: int) -> dict[str, str]:
    """The revision's rewritten captions by destination kind; a kind not here takes the caption."""
    rows = await fetchall(
        conn,
        "SELECT destination, text FROM caption_variants WHERE post_id = ? AND rev = ?"
        " ORDER BY destination",
        (post_id, rev),
    )
    return {str(r["destination"]): str(r["text"]) for r in rows}


async def add_step_after(
    conn: Connection, *, post_id: int, rev: int, run_id: int, after: str, name: str
) -> bool:
    """Insert step `name` right after step `after` of the revision, moving the later ones down,
    unless the revision has it already. False when it was there (or `after` is not)."""
    rows = await fetchall(
        conn,
        "SELECT name, position FROM steps WHERE post_id = ? AND post_rev = ?",
        (post_id, rev),
    )
    positions = {str(r["name"]): int(r["position"]) for r in rows}
    if name in positions or after not in positions:
        return False
    at = positions[after] + 1
    await conn.execute(
        "UPDATE steps SET position = position + 1 WHERE post_id = ? AND post_rev = ?"
        " AND position >= ?",
        (post_id, rev, at),
    )
    await conn.execute(
        "INSERT INTO steps (run_id, post_id, post_rev, position, name, status, workspace)"
        f" VALUES (?, ?, ?, ?, ?, 'queued', {steps.WORKSPACE_OF_STEP})",
        (run_id, post_id, rev, at, name, None, None, run_id),
    )
    return True
