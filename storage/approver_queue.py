"""What waits for approval in a set of channels, read in a handful of queries whatever its size:
the drafts, who wrote them, what they cost, who approves them now and where their messages are."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from storage.db import Connection, fetchall
from storage.models import MessageLink, Place, Post


@dataclass
class Awaiting:
    post: Post
    # The plan's platform with the ids of its proposer and of its revision note's author (as
    # stored: qualify them with handlers.people.qualified), and the draft notes' authors.
    plan_platform: str
    plan_authors: set[str]
    draft_authors: set[str] = field(default_factory=set)
    cost: float = 0.0
    approving: set[str] = field(default_factory=set)  # qualified ids with a counted ✅ on
    draft: MessageLink | None = None


def _in(ids: Sequence[object]) -> str:
    return ",".join("?" * len(ids))


async def awaiting_in(conn: Connection, places: Sequence[Place], *, limit: int) -> list[Awaiting]:
    """The newest drafts awaiting approval in these channels (their plans', and those of every
    workspace whose approval channel is among them), newest first."""
    if not places:
        return []
    values = ",".join("(?, ?)" for _ in places)
    params: list[object] = [part for place in places for part in place]
    where = f"(p.platform, p.channel_id) IN (VALUES {values})"
    gathered = await _gathered_in(conn, places)
    if gathered:  # only then: the plain query is the one every Home tab runs
        where += f" OR pl.workspace IN ({_in(gathered)})"
        params += gathered
    rows = await fetchall(
        conn,
        "SELECT p.*, pl.proposer AS proposer, pl.platform AS plan_platform,"
        " r.note AS rev_note, r.author AS rev_author FROM posts p"
        " JOIN plans pl ON pl.id = p.plan_id"
        " JOIN plan_revisions r ON r.plan_id = p.plan_id AND r.rev = p.plan_rev"
        f" WHERE p.status = 'awaiting_approval' AND ({where})"
        " ORDER BY p.id DESC LIMIT ?",
        (*params, limit),
    )
    found = {}
    for row in rows:
        authors = {str(row["proposer"])}
        if row["rev_note"] is not None:
            authors.add(str(row["rev_author"]))
        found[int(row["id"])] = Awaiting(Post.from_row(row), str(row["plan_platform"]), authors)
    if found:
        await _steps(conn, found)
        await _approvals(conn, found)
        await _drafts(conn, found)
    return list(found.values())


async def _gathered_in(conn: Connection, places: Sequence[Place]) -> list[str]:
    """The workspaces whose drafts are posted in one of these channels (their approval
    channel, storage.workspace_settings)."""
    channels = sorted({channel for _, channel in places})
    rows = await fetchall(
        conn,
        "SELECT workspace, approval_channel FROM workspace_publishing"
        f" WHERE approval_channel IN ({_in(channels)})",
        channels,
    )
    wanted = set(places)
    return [
        str(r["workspace"])
        for r in rows
        if (str(r["workspace"]).split(":", 1)[0], str(r["approval_channel"])) in wanted
    ]


async def _steps(conn: Connection, found: dict[int, Awaiting]) -> None:
    ids = list(found)
    rows = await fetchall(
        conn,
        "SELECT s.post_id, s.name, s.cost_usd, s.input_json FROM steps s"
        " JOIN posts p ON p.id = s.post_id AND s.post_rev = p.rev"
        f" WHERE s.post_id IN ({_in(ids)})",
        ids,
    )
    for row in rows:
        entry = found[int(row["post_id"])]
        entry.cost += float(row["cost_usd"] or 0.0)
        if row["name"] == "draft" and row["input_json"]:
            author = json.loads(row["input_json"]).get("author")
            if isinstance(author, str):
                entry.draft_authors.add(author)


async def _approvals(conn: Connection, found: dict[int, Awaiting]) -> None:
    ids = list(found)
    rows = await fetchall(
        conn,
        "SELECT r.post_id, r.user_id, r.emoji, r.action, r.added FROM reactions r"
        " JOIN posts p ON p.id = r.post_id AND r.rev = p.rev"
        f" WHERE r.post_id IN ({_in(ids)}) AND r.counted = 1 ORDER BY r.id",
        ids,
    )
    latest: dict[tuple[int, str, str], bool] = {}
    for row in rows:
        if row["action"] == "approve":
            key = (int(row["post_id"]), row["user_id"], row["emoji"] or row["action"])
            latest[key] = bool(row["added"])
    for (post_id, user, _), on in latest.items():
        if on:
            found[post_id].approving.add(user)


async def _drafts(conn: Connection, found: dict[int, Awaiting]) -> None:
    ids = list(found)
    rows = await fetchall(
        conn,
        "SELECT m.* FROM messages m JOIN posts p ON p.id = m.post_id AND m.rev = p.rev"
        f" WHERE m.kind = 'draft' AND m.post_id IN ({_in(ids)}) ORDER BY m.created_at",
        ids,
    )
    for row in rows:
        found[int(row["post_id"])].draft = MessageLink.from_row(row)
