"""Two Slack workspaces on one install, with the same channel id, the same user ids and
overlapping ideas: everything the room says about one goes to that workspace alone, with its own
token, and a person of one cannot act on the other's plans or drafts. Checked at the fake Slack,
call by call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.fakes.slack import Call, FakeSlack
from tests.slack_oauth_support import (
    TEAM_A,
    TEAM_B,
    install,
    oauth_settings,
    register_app,
    team_command,
    team_event,
)
from tests.slack_support import APPROVER, CHANNEL, PROPOSER, Bot, running_bot

IDEAS = {TEAM_A: "benchmarks as safety cases", TEAM_B: "benchmarks as marketing"}
# Not the Web API: the install's pages, and the upload URL a file's bytes go to (its own key).
NOT_WEB_API = frozenset({"oauth/v2/authorize", "oauth.v2.access", "upload_url", "response_url"})


def said(call: Call) -> str:
    """What a chat call put in front of people: its text and its blocks."""
    return f"{call.params.get('text', '')} {call.params.get('blocks', '')}"


def room_calls(fake: FakeSlack, since: int) -> list[Call]:
    return [c for c in fake.calls[since:] if c.method not in NOT_WEB_API]


async def two_workspaces(bot: Bot) -> None:
    register_app(bot.fake, bot)
    for team in (TEAM_A, TEAM_B):
        status, page, _ = await install(bot, team)
        assert status == 200, page


async def drafts_of_plan(bot: Bot, plan: int) -> int:
    rows = await bot.app.room.deps.db.fetchall("SELECT id FROM posts WHERE plan_id = ?", (plan,))
    return len(rows)


def posted_by(fake: FakeSlack, calls: list[Call], team: str, method: str) -> list[Call]:
    return [c for c in calls if c.method == method and fake.team_of(c.token) == team and c.ok]


async def test_each_workspace_hears_its_own_plans_and_drafts_only(tmp_path: Path) -> None:
    async with FakeSlack() as fake, running_bot(fake, oauth_settings(tmp_path, fake)) as bot:
        await two_workspaces(bot)
        start = len(fake.calls)
        for team in (TEAM_A, TEAM_B):
            assert await team_command(bot, team, "/propose", IDEAS[team], user=PROPOSER) == 200
        await bot.settle()
        # Plan numbers are the install's: the first workspace's plan is 1, the second's 2.
        assert await team_command(bot, TEAM_A, "/run", "1", user=PROPOSER) == 200
        assert await team_command(bot, TEAM_B, "/run", "2", user=PROPOSER) == 200
        await bot.settle()

        calls = room_calls(fake, start)
        assert calls and all(fake.team_of(c.token) in (TEAM_A, TEAM_B) for c in calls), [
            (c.method, c.token) for c in calls if fake.team_of(c.token) not in (TEAM_A, TEAM_B)
        ]
        plans = {TEAM_A: 1, TEAM_B: 2}
        for team, other in ((TEAM_A, TEAM_B), (TEAM_B, TEAM_A)):
            posts = posted_by(fake, calls, team, "chat.postMessage")
            assert all(c.params["channel"] == CHANNEL for c in posts)  # Slack's own id, no team
            shown = " ".join(said(c) for c in posts)
            assert IDEAS[team] in shown and IDEAS[other] not in shown
            drafts = [c for c in posts if " · draft " in said(c)]
            assert drafts and len(drafts) == await drafts_of_plan(bot, plans[team]), shown
            edits = " ".join(said(c) for c in posted_by(fake, calls, team, "chat.update"))
            assert IDEAS[other] not in edits


async def test_a_person_of_one_workspace_cannot_run_or_approve_the_others(
    tmp_path: Path,
) -> None:
    async with FakeSlack() as fake, running_bot(fake, oauth_settings(tmp_path, fake)) as bot:
        await two_workspaces(bot)
        assert await team_command(bot, TEAM_A, "/propose", IDEAS[TEAM_A], user=PROPOSER) == 200
        await bot.settle()
        assert await team_command(bot, TEAM_A, "/run", "1", user=PROPOSER) == 200
        await bot.settle()
        drafts_of_a = [
            c
            for c in posted_by(fake, fake.calls, TEAM_A, "chat.postMessage")
            if " · draft " in said(c)
        ]
        assert drafts_of_a and len(drafts_of_a) == await drafts_of_plan(bot, 1)

        start = len(fake.calls)
        # The same user id in the other workspace asks to run plan 1, then approves a draft of
        # the first workspace by its (channel, ts): neither is theirs.
        assert await team_command(bot, TEAM_B, "/run", "1", user=PROPOSER) == 200
        ts = str(drafts_of_a[0].response["ts"])
        reaction: dict[str, Any] = fake.reaction_event(
            "reaction_added", user=APPROVER, reaction="white_check_mark", channel=CHANNEL, ts=ts
        )
        assert await team_event(bot, TEAM_B, reaction) == 200
        await bot.settle()

        calls = room_calls(fake, start)
        answers = posted_by(fake, calls, TEAM_B, "chat.postEphemeral")
        assert any("no plan 1" in said(c) for c in answers), [said(c) for c in answers]
        assert not posted_by(fake, calls, TEAM_A, "chat.postEphemeral")
        assert not [c for c in calls if c.method == "chat.postMessage"]  # nothing ran
        touched = [c for c in calls if c.method == "chat.update"]
        assert not touched, [said(c) for c in touched]  # no draft of A was counted approved
        rows = await bot.app.room.deps.db.fetchall("SELECT status FROM posts")
        assert [r["status"] for r in rows] == ["awaiting_approval"] * len(drafts_of_a)
