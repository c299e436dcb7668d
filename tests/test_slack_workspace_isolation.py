"""Two Slack workspaces on one install, with the same channel id, the same user ids and
overlapping ideas: everything the room says about one goes to that workspace alone, with its own
token, and a person of one cannot act on the other's plans or drafts. Checked at the fake Slack,
call by call, and in what each workspace's channel holds there (the fake keeps each team's
messages and reactions apart, as Slack does)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from storage import posts
from tests.fakes.slack import Call, FakeMessage, FakeSlack
from tests.slack_oauth_support import (
    TEAM_A,
    TEAM_B,
    install,
    oauth_settings,
    register_app,
    team_command,
    team_event,
)
from tests.slack_support import APPROVER, CHANNEL, PROPOSER, SECRET, Bot, header, running_bot

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


async def drafts_of_team(bot: Bot, team: str) -> int:
    rows = await bot.app.room.deps.db.fetchall(
        "SELECT p.id FROM posts p JOIN plans pl ON pl.id = p.plan_id WHERE pl.workspace = ?",
        (f"slack:{team}",),
    )
    return len(rows)


def numbers_in(calls: list[Call], kind: str) -> list[int]:
    """The numbers of the `kind` cards ("plan 3 · …", "post 7 · …") among the messages, as
    their text (the card's title first) names them."""
    titles = (re.match(rf"{kind} (\d+) · ", str(c.params.get("text", ""))) for c in calls)
    return [int(m.group(1)) for m in titles if m]


def content(message: FakeMessage) -> str:
    return f"{message.text} {message.blocks}"


def drafts_held(fake: FakeSlack, team: str) -> list[FakeMessage]:
    """The draft messages the team's channel holds at the fake."""
    held = fake.messages(CHANNEL, team=team)
    return [m for m in held if not m.is_reply and " · draft " in header(m)]


def posted_by(fake: FakeSlack, calls: list[Call], team: str, method: str) -> list[Call]:
    return [c for c in calls if c.method == method and fake.team_of(c.token) == team and c.ok]


async def test_each_workspace_hears_its_own_plans_and_drafts_only(tmp_path: Path) -> None:
    async with FakeSlack() as fake, running_bot(fake, oauth_settings(tmp_path, fake)) as bot:
        await two_workspaces(bot)
        start = len(fake.calls)
        for team in (TEAM_A, TEAM_B):
            assert await team_command(bot, team, "/propose", IDEAS[team], user=PROPOSER) == 200
        await bot.settle()
        # Each workspace numbers its own plans: both have a plan 1, and each runs its own.
        for team in (TEAM_A, TEAM_B):
            assert await team_command(bot, team, "/run", "1", user=PROPOSER) == 200
        await bot.settle()

        calls = room_calls(fake, start)
        assert calls and all(fake.team_of(c.token) in (TEAM_A, TEAM_B) for c in calls), [
            (c.method, c.token) for c in calls if fake.team_of(c.token) not in (TEAM_A, TEAM_B)
        ]
        for team, other in ((TEAM_A, TEAM_B), (TEAM_B, TEAM_A)):
            posts = posted_by(fake, calls, team, "chat.postMessage")
            assert all(c.params["channel"] == CHANNEL for c in posts)  # Slack's own id, no team
            shown = " ".join(said(c) for c in posts)
            assert IDEAS[team] in shown and IDEAS[other] not in shown
            drafts = [c for c in posts if " · draft " in said(c)]
            assert drafts and len(drafts) == await drafts_of_team(bot, team), shown
            edits = " ".join(said(c) for c in posted_by(fake, calls, team, "chat.update"))
            assert IDEAS[other] not in edits

            # What each workspace's channel holds at the fake: its own idea and drafts only.
            held = fake.messages(CHANNEL, team=team)
            assert held and all(m.team == team for m in held)
            text = " ".join(content(m) for m in held)
            assert IDEAS[team] in text and IDEAS[other] not in text, text
            assert len(drafts_held(fake, team)) == await drafts_of_team(bot, team)


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
        assert drafts_of_a and len(drafts_of_a) == await drafts_of_team(bot, TEAM_A)

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


async def test_a_draft_reacted_to_in_the_other_workspace_is_no_message_there(
    tmp_path: Path,
) -> None:
    """B's ✅ on the (channel, ts) of A's draft is on nothing of B's: B's token can neither read
    nor change A's draft, and at the next start the bot reads the draft back with A's token and
    finds no approval."""
    async with FakeSlack() as fake:
        settings = oauth_settings(tmp_path, fake)
        async with running_bot(fake, settings) as bot:
            await two_workspaces(bot)
            assert await team_command(bot, TEAM_A, "/propose", IDEAS[TEAM_A], user=PROPOSER) == 200
            await bot.settle()
            assert await team_command(bot, TEAM_A, "/run", "1", user=PROPOSER) == 200
            await bot.settle()
            drafts = drafts_held(fake, TEAM_A)
            assert drafts and drafts_held(fake, TEAM_B) == []
            ts = drafts[0].ts
            offered = fake.reactions_on(CHANNEL, ts, team=TEAM_A)
            reaction = fake.reaction_event(
                "reaction_added", user=APPROVER, reaction="white_check_mark", channel=CHANNEL,
                ts=ts, team=TEAM_B,
            )  # fmt: skip
            status, _ = await fake.send_event(bot.url, reaction, signing_secret=SECRET)
            assert status == 200
            await bot.settle()

        beta = AsyncWebClient(token=fake.teams[TEAM_B].tokens[-1], base_url=fake.api_url)
        for refused in (
            beta.reactions_get(channel=CHANNEL, timestamp=ts),
            beta.reactions_add(channel=CHANNEL, timestamp=ts, name="white_check_mark"),
            beta.chat_update(channel=CHANNEL, ts=ts, text="approved in B"),
        ):
            with pytest.raises(SlackApiError) as info:
                await refused
            assert info.value.response["error"] == "message_not_found"
        assert fake.reactions_on(CHANNEL, ts, team=TEAM_A) == offered  # the bot's own only
        assert APPROVER not in str(fake.reactions_on(CHANNEL, ts))

        restart = len(fake.calls)
        async with running_bot(fake, settings) as bot:
            await bot.settle()
            read_back = [
                c for c in fake.calls[restart:] if c.method == "reactions.get"
                and c.params.get("timestamp") == ts
            ]  # fmt: skip
            assert read_back and all(c.team == TEAM_A and c.ok for c in read_back), [
                (c.team, c.error) for c in read_back
            ]
            rows = await bot.app.room.deps.db.fetchall("SELECT id FROM posts")
            reader = bot.app.room.deps.db.reader
            for row in rows:
                post = await posts.get_post(reader, int(row["id"]))
                assert post is not None and post.status == "awaiting_approval"


async def test_each_workspace_numbers_its_own_plans_and_posts(tmp_path: Path) -> None:
    """Both workspaces have a plan 1 and a post 1: what each types and reads is its own."""
    async with FakeSlack() as fake, running_bot(fake, oauth_settings(tmp_path, fake)) as bot:
        await two_workspaces(bot)
        for team in (TEAM_A, TEAM_B):
            assert await team_command(bot, team, "/propose", IDEAS[team], user=PROPOSER) == 200
        await bot.settle()
        for team in (TEAM_A, TEAM_B):
            assert await team_command(bot, team, "/run", "1", user=PROPOSER) == 200
        await bot.settle()

        for team in (TEAM_A, TEAM_B):
            posted = posted_by(fake, fake.calls, team, "chat.postMessage")
            assert numbers_in(posted, "plan") == [1]
            assert numbers_in(posted, "run") == [1]  # its progress message: "run 1 · plan 1 · …"
            drafts = await drafts_of_team(bot, team)
            assert drafts and sorted(numbers_in(posted, "post")) == list(range(1, drafts + 1))

        start = len(fake.calls)
        assert await team_command(bot, TEAM_B, "/post", "1", user=PROPOSER) == 200
        await bot.settle()
        [answer] = posted_by(fake, room_calls(fake, start), TEAM_B, "chat.postEphemeral")
        assert said(answer).startswith("@aiaaron · post 1 · "), said(answer)
        assert IDEAS[TEAM_B] in said(answer) and IDEAS[TEAM_A] not in said(answer)

        # A's plan 1 is refined in A alone; B's plan 1 keeps its one revision.
        start = len(fake.calls)
        assert await team_command(bot, TEAM_A, "/refine", "1 shorter", user=PROPOSER) == 200
        await bot.settle()
        rows = await bot.app.room.deps.db.fetchall(
            "SELECT workspace, number, current_rev FROM plans ORDER BY workspace"
        )
        assert [(r["workspace"], r["number"], r["current_rev"]) for r in rows] == [
            (f"slack:{TEAM_A}", 1, 2),
            (f"slack:{TEAM_B}", 1, 1),
        ]
        assert not posted_by(fake, room_calls(fake, start), TEAM_B, "chat.postMessage")
