"""Two Slack HTTP-mode replicas on one database, against one fake Slack: Slack may send an event
and its retries to either, and each event has one effect because the database, not a process,
decides who handles it (storage/chat.py claim_event)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from bot.slack_listeners import event_key
from tests import support
from tests.fakes.slack import FakeSlack
from tests.schedule_support import MovableClock
from tests.slack_support import (
    APPROVER,
    CHANNEL,
    Bot,
    header,
    propose_and_run,
    running_bot,
    slack_settings,
)

LEASE_S = 120.0  # handlers/room.py EVENT_LEASE_S


@contextlib.asynccontextmanager
async def replicas(
    fake: FakeSlack, tmp_path: Path, clock: MovableClock | None = None
) -> AsyncIterator[tuple[Bot, Bot]]:
    """Two bots as two `draftroom serve` processes would run: their own ports and processes'
    state, one database (the same DATABASE_URL, or on SQLite the same file)."""
    settings = slack_settings(tmp_path, fake, DATABASE_URL=support.DATABASE_URL)
    kwargs: dict[str, Any] = {} if clock is None else {"clock": clock}
    async with (
        running_bot(fake, settings, **kwargs) as first,
        running_bot(fake, settings, **kwargs) as second,
    ):
        yield first, second


async def settle(*bots: Bot) -> None:
    for _ in range(2):  # one replica's work can hand the other nothing, but be sure
        for bot in bots:
            await bot.settle()


def revising(bot: Bot, draft_ts: str) -> list[str]:
    return [header(m) for m in bot.thread(draft_ts) if header(m).startswith("Revising")]


async def counted_approvals(bot: Bot) -> int:
    return int(
        await bot.app.room.deps.db.scalar(
            "SELECT COUNT(*) FROM reactions WHERE post_id = 1 AND action = 'approve'"
            " AND counted = 1"
        )
    )


async def test_an_approval_sent_four_times_to_two_replicas_counts_once(
    fake: FakeSlack, tmp_path: Path
) -> None:
    async with replicas(fake, tmp_path) as (a, b):
        [draft] = await propose_and_run(a)
        event = fake.reaction_event(
            "reaction_added", user=APPROVER, reaction="white_check_mark", channel=CHANNEL,
            ts=draft.ts,
        )  # fmt: skip
        statuses = list(await asyncio.gather(a.event(event), b.event(event)))
        await settle(a, b)
        statuses.append(await b.event(event, retry_num=1, retry_reason="http_timeout"))
        statuses.append(await a.event(event, retry_num=2, retry_reason="http_error"))
        await settle(a, b)
        assert statuses == [200] * 4
        assert await counted_approvals(a) == 1
        published = [m for m in a.thread(draft.ts) if "is published" in header(m)]
        assert len(published) == 1
        assert len(await a.app.room.deps.db.fetchall("SELECT * FROM publications")) == 1
        assert await a.seen(event) and await b.seen(event)


async def test_a_note_sent_four_times_to_two_replicas_revises_once(
    fake: FakeSlack, tmp_path: Path
) -> None:
    async with replicas(fake, tmp_path) as (a, b):
        [draft] = await propose_and_run(a)
        note = fake.message_event(APPROVER, "shorter, please", CHANNEL, thread_ts=draft.ts)
        # The retries arrive while the first copies may still be handled: they find the claim.
        statuses = await asyncio.gather(
            a.event(note),
            b.event(note),
            b.event(note, retry_num=1, retry_reason="http_timeout"),
            a.event(note, retry_num=2, retry_reason="http_timeout"),
        )
        await settle(a, b)
        assert list(statuses) == [200] * 4
        assert revising(a, draft.ts) == ["Revising post 1 (draft 2) with your note."]
        # A second handling would be refused ("is being revised") in a private message.
        assert [e.text for e in fake.ephemerals] == []
        rows = await a.app.room.deps.db.fetchall("SELECT rev FROM posts WHERE id = 1")
        assert [r["rev"] for r in rows] == [2]
        assert await a.seen(note)


async def test_a_crashed_replicas_claim_is_taken_over_after_the_lease(
    fake: FakeSlack, tmp_path: Path
) -> None:
    clock = MovableClock()
    async with replicas(fake, tmp_path, clock) as (a, b):
        [draft] = await propose_and_run(a)
        note = fake.message_event(APPROVER, "shorter, please", CHANNEL, thread_ts=draft.ts)
        key = event_key(note)
        # A third replica claimed the event and died before finishing it: no one releases it.
        async with a.app.room.deps.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO processed_events (platform, key, at, claimed_by, done_at)"
                " VALUES ('slack', ?, ?, 'gone-host:4242:dead', NULL)",
                (key, clock()),
            )

        clock.advance(LEASE_S - 1)  # Slack's first retries come within the lease: skipped
        assert await b.event(note, retry_num=1, retry_reason="http_timeout") == 200
        assert await a.event(note, retry_num=2, retry_reason="http_timeout") == 200
        await settle(a, b)
        assert revising(a, draft.ts) == []
        assert not await a.seen(note)

        clock.advance(2)  # the lease is over: the next retry (about 5 minutes on) takes it
        assert await b.event(note, retry_num=3, retry_reason="http_timeout") == 200
        await settle(a, b)
        assert revising(a, draft.ts) == ["Revising post 1 (draft 2) with your note."]
        assert await a.seen(note)
        row = await a.app.room.deps.db.fetchone(
            "SELECT claimed_by FROM processed_events WHERE key = ?", (key,)
        )
        assert row is not None and row["claimed_by"] != "gone-host:4242:dead"

        assert await a.event(note, retry_num=3, retry_reason="http_timeout") == 200  # done now
        await settle(a, b)
        assert revising(a, draft.ts) == ["Revising post 1 (draft 2) with your note."]


def test_the_delivery_id_names_the_app_the_workspace_or_org_and_the_event() -> None:
    envelope: dict[str, Any] = {"api_app_id": "A1", "team_id": "T1", "event_id": "Ev1"}
    assert event_key(envelope) == "A1:T1:Ev1"
    org = {
        **envelope,
        "enterprise_id": "E1",
        "authorizations": [{"enterprise_id": "E1", "team_id": None, "is_enterprise_install": True}],
    }
    assert event_key(org) == "A1:E1:Ev1"
    assert event_key({"api_app_id": "A2", "team_id": "T1", "event_id": "Ev1"}) == "A2:T1:Ev1"
    assert event_key({"api_app_id": "A1", "team_id": "T1"}) is None
