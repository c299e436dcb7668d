"""Two draftroom processes in Slack HTTP mode on one database, as replicas behind a load
balancer: an approval delivered four times, twice to each (two at the same moment, two as
Slack's retries), counts once and publishes once. The same promise as
tests/test_slack_replicas.py, with real processes and nothing shared but the database."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.slack_listeners import event_key
from tests.db_rows import rows, scalar
from tests.fakes.slack import FakeMessage, FakeSlack
from tests.slack_processes import slack_processes
from tests.slack_support import APPROVER, CHANNEL, SECRET, header
from tests.support import wait_until


def drafts(fake: FakeSlack) -> list[FakeMessage]:
    mine = fake.messages(CHANNEL, user=fake.bot_user_id)
    return [m for m in mine if not m.is_reply and " · draft " in header(m)]


async def test_an_approval_sent_four_times_to_two_processes_counts_once(
    fake: FakeSlack, tmp_path: Path
) -> None:
    db = tmp_path / "d.db"
    async with slack_processes(fake, tmp_path, 2) as (one, two):
        assert await one.command("/propose", "benchmarks as safety cases") == 200
        await wait_until(lambda: rows(db, "SELECT current_rev FROM plans") == [(1,)], timeout=30)
        assert await two.command("/run", "1") == 200
        await wait_until(lambda: len(drafts(fake)) == 1, timeout=60)
        [draft] = drafts(fake)
        event = fake.reaction_event(
            "reaction_added", user=APPROVER, reaction="white_check_mark", channel=CHANNEL,
            ts=draft.ts,
        )  # fmt: skip

        async def send(url: str, **retry: object) -> int:
            status, _ = await fake.send_event(url, event, signing_secret=SECRET, **retry)
            return status

        key = event_key(event)
        statuses = list(await asyncio.gather(send(one.url), send(two.url)))
        statuses.append(await send(two.url, retry_num=1, retry_reason="http_timeout"))
        statuses.append(await send(one.url, retry_num=2, retry_reason="http_error"))
        assert statuses == [200] * 4

        def notices() -> list[FakeMessage]:
            thread = fake.messages(CHANNEL, thread_ts=draft.ts)
            return [m for m in thread if "is published" in header(m)]

        await wait_until(lambda: notices(), timeout=30)
        await wait_until(
            lambda: (
                scalar(
                    db,
                    "SELECT COUNT(*) FROM processed_events WHERE key = ? AND done_at IS NOT NULL",
                    (key,),
                )
                == 1
            ),
            timeout=30,
        )
    # Both processes stopped: whatever either was still doing is done or handed back.
    counted = "SELECT COUNT(*) FROM reactions WHERE action = 'approve' AND counted = 1"
    assert scalar(db, counted) == 1
    assert scalar(db, "SELECT COUNT(*) FROM publications") == 1
    assert scalar(db, "SELECT status FROM posts WHERE id = 1") == "published"
    assert len(notices()) == 1
