"""The fake Slack keeps each workspace's channels, messages, reactions and files apart, as Slack
does: a token of one team cannot read or change what another team holds under the same channel
id, and the single-token mode is one default team, as before."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from tests.fake_slack_client import api_error, client_for, section, slack
from tests.fakes.slack import FakeSlack

__all__ = ["slack"]  # the fixture, used by name

TEAM_A, TEAM_B = "T0AAA", "T0BBB"
REDIRECT = "http://127.0.0.1:9/slack/oauth_redirect"  # never opened: the code is read off it


async def installed(slack: FakeSlack, team: str) -> AsyncWebClient:
    """A client holding the bot token an OAuth install into `team` grants."""
    slack.oauth_app("1.2", "secret", [REDIRECT])
    if team not in slack.teams:
        slack.add_team(team, f"Team {team}")
    slack.installing(team)
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            slack.authorize_url, params={"client_id": "1.2", "scope": "chat:write"},
            allow_redirects=False,
        ) as resp,
    ):  # fmt: skip
        code = parse_qs(urlsplit(resp.headers["Location"]).query)["code"][0]
    grant = await AsyncWebClient(base_url=slack.api_url).oauth_v2_access(
        client_id="1.2", client_secret="secret", code=code
    )
    return AsyncWebClient(token=str(grant["access_token"]), base_url=slack.api_url)


async def error_of(call: Awaitable[Any]) -> str:
    return str((await api_error(call)).response["error"])


@pytest.mark.asyncio
async def test_a_token_of_one_team_cannot_reach_another_teams_message(slack: FakeSlack) -> None:
    alpha, beta = await installed(slack, TEAM_A), await installed(slack, TEAM_B)
    mine = await alpha.chat_postMessage(channel="C1", text="alpha's draft")
    theirs = await beta.chat_postMessage(channel="C1", text="beta's draft")
    ts = str(mine["ts"])
    await alpha.reactions_add(channel="C1", timestamp=ts, name="white_check_mark")

    # The same channel id is another channel in B: A's ts is no message there.
    assert await error_of(beta.reactions_get(channel="C1", timestamp=ts)) == "message_not_found"
    for refused in (
        beta.reactions_add(channel="C1", timestamp=ts, name="x"),
        beta.reactions_remove(channel="C1", timestamp=ts, name="white_check_mark"),
        beta.chat_update(channel="C1", ts=ts, text="beta was here"),
        beta.chat_delete(channel="C1", ts=ts),
        beta.chat_getPermalink(channel="C1", message_ts=ts),
    ):
        assert await error_of(refused) == "message_not_found"
    assert await error_of(beta.conversations_replies(channel="C1", ts=ts)) == "thread_not_found"
    history = await beta.conversations_history(channel="C1")
    assert [m["text"] for m in history["messages"]] == ["beta's draft"]
    assert history["messages"][0]["team"] == TEAM_B

    a_msg = slack.message("C1", ts, team=TEAM_A)
    assert a_msg is not None and a_msg.text == "alpha's draft" and not a_msg.deleted
    assert slack.reactions_on("C1", ts, team=TEAM_A) == {"white_check_mark": ["U0BOT"]}
    assert slack.reactions_on("C1", ts, team=TEAM_B) == {}
    assert [m.text for m in slack.messages("C1", team=TEAM_A)] == ["alpha's draft"]
    assert [m.text for m in slack.messages("C1", team=TEAM_B)] == ["beta's draft"]
    assert {m.ts for m in slack.messages("C1")} == {ts, str(theirs["ts"])}  # all teams
    calls = [c for c in slack.calls if c.method.startswith(("chat.", "reactions."))]
    assert {c.team for c in calls} == {TEAM_A, TEAM_B}
    assert all(c.team == slack.team_of(c.token) for c in calls)


@pytest.mark.asyncio
async def test_channels_members_and_files_belong_to_their_team() -> None:
    async with FakeSlack(strict_channels=True) as slack:
        alpha, beta = await installed(slack, TEAM_A), await installed(slack, TEAM_B)
        slack.create_channel("CALPHA", team=TEAM_A)
        slack.add_member("CALPHA", "U7", team=TEAM_A)
        assert (await alpha.chat_postMessage(channel="CALPHA", text="hi"))["ok"]
        assert await error_of(beta.chat_postMessage(channel="CALPHA", text="x")) == (
            "channel_not_found"
        )
        listed = await beta.users_conversations(types="public_channel,private_channel")
        assert listed["channels"] == []
        assert await error_of(beta.users_info(user="U7")) == "user_not_found"
        assert slack.bot_is_member("CALPHA", team=TEAM_A)
        assert not slack.bot_is_member("CALPHA", team=TEAM_B) and slack.bot_is_member("CALPHA")

        slack.create_channel("CALPHA", team=TEAM_B)  # B's own channel of that id
        upload = await alpha.files_upload_v2(filename="hero.png", content=b"\x89PNG data")
        file_id = str(upload["file"]["id"])
        assert [f.team for f in slack.uploaded_files] == [TEAM_A]
        image = {"type": "image", "slack_file": {"id": file_id}, "alt_text": "hero"}
        refused = beta.chat_postMessage(channel="CALPHA", text="x", blocks=[image])
        assert await error_of(refused) == "invalid_blocks"  # A's file names nothing in B
        shown = await alpha.chat_postMessage(channel="CALPHA", text="hero", blocks=[image])
        assert shown["ok"]
        url_private = f"{slack.base_url}/files/{file_id}/hero.png"
        async with aiohttp.ClientSession() as session:
            for client, status in ((beta, 403), (alpha, 200)):
                headers = {"Authorization": f"Bearer {client.token}"}
                async with session.get(url_private, headers=headers) as resp:
                    assert resp.status == status


@pytest.mark.asyncio
async def test_single_token_mode_is_the_default_team(slack: FakeSlack) -> None:
    client = client_for(slack)
    posted = await client.chat_postMessage(channel="C1", text="x", blocks=[section("*x*")])
    stranger = AsyncWebClient(token="xoxb-unknown", base_url=slack.api_url)
    assert await error_of(stranger.auth_test()) == "invalid_auth"
    assert [c.team for c in slack.calls] == ["T0001", "T0001"]
    assert [m.team for m in slack.messages()] == ["T0001"]
    assert slack.messages(team="T0001") == slack.messages() and slack.messages(team=TEAM_A) == []
    assert slack.message("C1", str(posted["ts"])) is slack.message(
        "C1", str(posted["ts"]), team="T0001"
    )
    envelope = slack.event_callback({"type": "app_mention"})
    assert envelope["team_id"] == envelope["authorizations"][0]["team_id"] == "T0001"
    assert slack.slash_command_payload("/help")["team_id"] == "T0001"


@pytest.mark.asyncio
async def test_payload_builders_carry_and_record_in_their_team(slack: FakeSlack) -> None:
    ts = "1700000500.000100"
    for team in (TEAM_A, TEAM_B):  # the same (channel, ts) in two workspaces
        event = slack.message_event("U1", f"from {team}", "C1", ts=ts, team=team)
        assert event["team_id"] == event["event"]["team"] == team
    reaction = slack.reaction_event(
        "reaction_added", user="U2", reaction="white_check_mark", channel="C1", ts=ts, team=TEAM_B
    )
    assert reaction["team_id"] == reaction["authorizations"][0]["team_id"] == TEAM_B
    assert slack.reactions_on("C1", ts, team=TEAM_B) == {"white_check_mark": ["U2"]}
    assert slack.reactions_on("C1", ts, team=TEAM_A) == {}
    # A reaction from a team that has no such message is recorded nowhere.
    slack.reaction_event("reaction_added", user="U3", reaction="x", channel="C1", ts=ts)
    assert all("x" not in m.reactions for m in slack.messages())
    command = slack.slash_command_payload("/run", "1", team=TEAM_A)
    assert command["team_id"] == TEAM_A
    assert slack.block_action_payload("go", team=TEAM_B)["team"]["id"] == TEAM_B
