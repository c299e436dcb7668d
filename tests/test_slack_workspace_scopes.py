"""Two Slack workspaces on one install with the same channel id and the same user ids: what one
workspace made (its plan, drafts, spend, links) is not readable from the other through any
command that reads the library (/post, /posts, /ask, /costs, /queue, /links), while the
workspace that made it reads it all. Every answer is read where it was sent, at the fake."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import httpx

from storage import search
from storage.sqlite_db import SqliteDatabase
from tests.fakes.slack import FakeSlack
from tests.slack_oauth_support import TEAM_A, TEAM_B, oauth_settings, team_command, team_event
from tests.slack_support import APPROVER, CHANNEL, PROPOSER, Bot, running_bot
from tests.support import sqlite_at_schema
from tests.test_slack_workspace_isolation import posted_by, room_calls, said, two_workspaces

ANSWERS = ("chat.postEphemeral", "chat.postMessage")  # /ask answers in the channel
IDEA = "benchmarks as safety cases"
READING = [
    ("/post", "1"),
    ("/posts", ""),
    ("/posts", "published"),
    ("/ask", "benchmarks safety cases"),
    ("/costs", "30"),
    ("/queue", ""),
    ("/links", ""),
]


async def answers_to(bot: Bot, team: str, user: str) -> dict[str, str]:
    """What each reading command answered `user` in `team` (its ephemeral, as shown)."""
    fake = bot.fake
    found: dict[str, str] = {}
    for name, text in READING:
        start = len(fake.calls)
        assert await team_command(bot, team, name, text, user=user) == 200
        await bot.settle()
        calls = room_calls(fake, start)
        answers = [c for c in calls if c.method in ANSWERS and c.ok]
        assert answers, (name, [(c.method, fake.team_of(c.token)) for c in calls])
        assert not [c for c in calls if fake.team_of(c.token) != team]
        found[f"{name} {text}".strip()] = " ".join(said(c) for c in answers)
    return found


async def published_in_a(bot: Bot) -> str:
    """Team A's plan 1 run and its one draft approved (so published, and in A's library), and
    its plan 2 run, with a draft (post 2) waiting for approval; post 1's headline."""
    fake = bot.fake
    assert await team_command(bot, TEAM_A, "/propose", IDEA, user=PROPOSER) == 200
    await bot.settle()
    assert await team_command(bot, TEAM_A, "/run", "1", user=PROPOSER) == 200
    await bot.settle()
    drafts = [
        c for c in posted_by(fake, fake.calls, TEAM_A, "chat.postMessage") if " · draft " in said(c)
    ]
    assert len(drafts) == 1, [said(c) for c in drafts]
    ts = str(drafts[0].response["ts"])
    approval = fake.reaction_event(
        "reaction_added", user=APPROVER, reaction="white_check_mark", channel=CHANNEL, ts=ts
    )
    assert await team_event(bot, TEAM_A, approval) == 200
    await bot.settle()
    row = await bot.app.room.deps.db.fetchone("SELECT status, headline FROM posts WHERE id = 1")
    assert row is not None and row["status"] == "published", row
    assert await team_command(bot, TEAM_A, "/propose", "evals as theatre", user=PROPOSER) == 200
    await bot.settle()
    assert await team_command(bot, TEAM_A, "/run", "2", user=PROPOSER) == 200
    await bot.settle()
    return str(row["headline"])


async def test_one_workspaces_library_is_not_readable_from_the_other(tmp_path: Path) -> None:
    async with FakeSlack() as fake, running_bot(fake, oauth_settings(tmp_path, fake)) as bot:
        await two_workspaces(bot)
        headline = await published_in_a(bot)
        mine = await answers_to(bot, TEAM_A, APPROVER)
        theirs = await answers_to(bot, TEAM_B, APPROVER)

        # The workspace that made it reads it everywhere ...
        for command in ("/post 1", "/ask benchmarks safety cases"):
            assert headline[:40] in mine[command], (command, mine[command])
        assert "post 1 · " in mine["/posts"] and "post 2 · " in mine["/posts"]
        assert "post 1 · " in mine["/posts published"]
        assert "1 to approve" in mine["/queue"] and "post 2" in mine["/queue"]
        assert "@aiaaron" in mine["/costs 30"]
        assert "plan 1" in mine["/links"] and "post 1" in mine["/links"]
        # ... and the other, with the same channel and user ids, reads none of it.
        assert "there is no post 1 here" in theirs["/post 1"]
        for command, shown in theirs.items():
            assert headline[:40] not in shown and IDEA not in shown, (command, shown)
            named = [f"{what} {n}" for what in ("post", "plan") for n in (1, 2)]
            if command != "/post 1":
                assert not [n for n in named if n in shown], (command, shown)
        assert "No posts match" in theirs["/posts"]
        assert "No posts match" in theirs["/posts published"]
        assert "Nothing in the post library matches" in theirs["/ask benchmarks safety cases"]
        assert "@aiaaron" not in theirs["/costs 30"]
        assert "0 to approve" in theirs["/queue"]

        # The library page each workspace's /posts links to lists its own posts only.
        mine_page, theirs_page = await page(mine["/posts"]), await page(theirs["/posts"])
        row = 'data-testid="post-row"'
        assert mine_page.count(row) >= 1 and "/p/2?t=" in mine_page
        assert theirs_page.count(row) == 0 and "/p/" not in theirs_page


async def page(answer: str) -> str:
    """The library page an answer links to, as a browser gets it."""
    found = re.search(r"<(http://127\.0\.0\.1:[0-9]+/posts\?t=[^|>]+)\|the library>", answer)
    assert found, answer
    async with httpx.AsyncClient() as client:
        response = await client.get(found.group(1))
    assert response.status_code == 200, response.text[:300]
    return response.text


async def test_posts_indexed_by_an_earlier_version_are_found_after_the_upgrade(
    tmp_path: Path,
) -> None:
    """Schema 20 indexed a post of a `T…/C…` channel with the slash in its place term (SQLite's
    tokenizer splits it in two there), so /ask never found it; opening the file mends it."""
    path = tmp_path / "draftroom.db"
    place = ("slack", f"{TEAM_A}/C1")
    with contextlib.closing(sqlite_at_schema(path, 20)) as conn, conn:
        conn.execute(
            "INSERT INTO plans (id, persona, pillar, idea, proposer, platform, channel_id,"
            " created_at) VALUES (1, 'aiaaron', 'p', ?, 'slack:U1', ?, ?, 1.0)",
            (IDEA, *place),
        )
        conn.execute(
            "INSERT INTO runs (id, plan_id, plan_rev, status, platform, channel_id, started_by,"
            " created_at) VALUES (1, 1, 1, 'done', ?, ?, 'slack:U1', 1.0)",
            place,
        )
        conn.execute(
            "INSERT INTO posts (id, run_id, plan_id, plan_rev, item_index, persona, pillar,"
            " content_format, status, status_changed_at, body, created_at, platform,"
            " channel_id) VALUES (1, 1, 1, 1, 0, 'aiaaron', 'p', 'text', 'published', 1.0, ?,"
            " 1.0, ?, ?)",
            (IDEA, *place),
        )
        conn.execute(
            "INSERT INTO post_search (rowid, body, caption, plan_text, place)"
            " VALUES (1, ?, '', '', 'slackt0aaa/c1')",
            (IDEA,),
        )

    async with SqliteDatabase(path) as db:
        found = await search.search_posts(db.reader, "safety cases", place=place)
        assert [post.id for post in found] == [1]
        other = await search.search_posts(db.reader, "safety cases", place=("slack", "C1"))
        assert other == []
