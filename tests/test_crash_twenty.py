"""SIGKILL at twenty points across a run of the seed's batch, on Slack (HTTP mode) with images
on fal: during provider calls, after step results are committed, between posting a draft at
Slack and recording it, and around an approval. After each restart the run completes; every
paid step was submitted to fal exactly once (counted at the fake fal); every item has exactly
one draft message (counted at the fake Slack); no approval is lost, and the approved post has
exactly one "published" reply, even when the kill fell between publishing and saying so.

A kill inside a submit request itself (fal accepted it, the bot died before storing its id)
would pay twice, and no provider protocol can prevent that; so before each kill the fake fal
stops accepting new submissions and the test waits until every accepted one is stored, the
way a real crash that does not land inside that millisecond behaves.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.crash_support import query
from tests.fakes.fal import FakeFal
from tests.fakes.slack import FakeMessage, FakeSlack
from tests.slack_support import APPROVER, CHANNEL, SECRET, header
from tests.test_crash_slack import BotProcess, drafts, propose_and_run_seed, until

IMAGE_STEPS = 5  # four hero images and a poster frame
DB = "draftroom.db"
DONE = "SELECT COUNT(*) FROM steps WHERE status = 'done'"
POSTED = "SELECT COUNT(*) FROM deliveries WHERE key LIKE 'draft:%' AND message_id IS NOT NULL"
STORED = (
    "SELECT COUNT(*) FROM steps WHERE name IN ('hero_image', 'poster_frame')"
    " AND handle_json IS NOT NULL"
)

Point = tuple[str, int]
POINTS: list[Point] = [
    *(("polls", n) for n in (1, 3, 5, 8, 11)),  # waiting on fal
    *(("done", n) for n in (6, 8, 10, 12, 14)),  # step results just committed
    *(("slack_drafts", n) for n in range(1, 6)),  # at Slack, maybe not recorded
    *(("posted", n) for n in (2, 4)),  # drafts posted and recorded
    ("approval_acked", 1),  # an approver's ✅ acknowledged
    ("approved", 1),  # approved, not yet published
    ("published", 1),  # published, maybe not announced
]


def reached(kind: str, n: int, fal: FakeFal, slack: FakeSlack, db: Path) -> Callable[[], bool]:
    def check() -> bool:
        if kind == "polls":
            return len(fal.status_polls) >= n
        if kind == "slack_drafts":
            return sum(drafts(slack).values()) >= n
        sql = {"done": DONE, "posted": POSTED}[kind]
        found = query(db, sql)  # no rows while the bot has not created its tables
        return bool(found) and found[0][0] >= n

    return check


def published_replies(slack: FakeSlack, post_id: int) -> list[FakeMessage]:
    return [
        m
        for m in slack.messages(CHANNEL)
        if m.is_reply and f"post {post_id} is published" in m.text
    ]


async def kill_cleanly(bot: BotProcess, fal: FakeFal, db: Path) -> None:
    """Close fal's door, let every accepted submission be stored, then SIGKILL."""
    fal.accepting.clear()
    await until(lambda: query(db, STORED)[0][0] >= sum(fal.submissions.values()))
    bot.kill()
    await bot.stop()
    fal.accepting.set()


async def approve_first_draft(bot: BotProcess, slack: FakeSlack, db: Path, kind: str) -> int:
    await until(lambda: query(db, POSTED) == [(5,)])
    target = next(m for m in slack.messages(CHANNEL) if " · draft " in header(m))
    post_id = int(header(target).split(" · ")[0].removeprefix("post "))
    event = slack.reaction_event(
        "reaction_added",
        user=APPROVER,
        reaction="white_check_mark",
        channel=CHANNEL,
        ts=target.ts,
    )
    status, _ = await slack.send_event(bot.url, event, signing_secret=SECRET)
    assert status == 200
    if kind != "approval_acked":
        wanted = ("approved", "published") if kind == "approved" else ("published",)
        await until(
            lambda: query(db, f"SELECT status FROM posts WHERE id = {post_id}")[0][0] in wanted
        )
    return post_id


@pytest.mark.parametrize(("kind", "n"), POINTS, ids=[f"{k}-{n}" for k, n in POINTS])
async def test_kill_at_a_point_then_restart(tmp_path: Path, kind: str, n: int) -> None:
    db = tmp_path / DB
    async with (
        FakeSlack() as slack,
        FakeFal(polls_in_queue=2, polls_in_progress=1) as fal,
        BotProcess(slack, tmp_path) as bot,
    ):
        bot.env |= {
            "FAL_KEY": fal.api_key,
            "FAL_QUEUE_URL": fal.url,
            "MEDIA_HOSTS": fal.media_host,
            "FAL_POLL_INTERVAL_S": "0.05",
            "IMAGE_CONCURRENCY": "2",
        }
        await bot.start()
        await propose_and_run_seed(bot, slack)
        approved_post = None
        if kind in ("approval_acked", "approved", "published"):
            approved_post = await approve_first_draft(bot, slack, db, kind)
        else:
            await until(reached(kind, n, fal, slack, db))
        await kill_cleanly(bot, fal, db)

        await bot.start()
        await until(lambda: query(db, "SELECT status FROM runs") == [("done",)])
        await until(lambda: query(db, POSTED) == [(5,)])
        if approved_post is not None:
            await until(
                lambda: (
                    query(db, f"SELECT status FROM posts WHERE id = {approved_post}")
                    == [("published",)]
                )
            )
            # The "published" reply is a promised delivery: a restart sends the one a kill kept.
            await until(lambda: bool(published_replies(slack, approved_post)))
        await bot.stop()

    assert sorted(drafts(slack).values()) == [1] * 5, drafts(slack)
    # A call the kill cut off before fal accepted it counts as an attempt, not a submission.
    assert sum(fal.submissions.values()) == IMAGE_STEPS
    assert query(
        db,
        "SELECT COUNT(*) FROM steps WHERE name IN ('hero_image', 'poster_frame')"
        " AND status = 'done' AND provider = 'fal' AND cost_usd = 0.06",
    ) == [(IMAGE_STEPS,)]
    if approved_post is not None:
        assert len(published_replies(slack, approved_post)) == 1
