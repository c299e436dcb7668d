"""`draftroom worker` in Slack OAuth mode: with no SLACK_BOT_TOKEN, the worker posts a plan's
drafts to the workspace the plan was proposed in, with that workspace's token, on its own: the
`serve` process that took the command is stopped before the run starts, so no sweep of its can
post them for it."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from bot.slack_oauth import REDIRECT_PATH
from tests.fakes.fal import FakeFal
from tests.fakes.providers import FakeOpenAI
from tests.fakes.slack import FakeSlack
from tests.provider_support import ScriptedModel
from tests.slack_oauth_support import CLIENT_ID, CLIENT_SECRET, KEY, TEAM_A, TEAM_B, install_at
from tests.slack_support import CHANNEL, PROPOSER, SECRET, SEED_PROPOSE
from tests.support import wait_until
from tests.worker_support import environment, free_port, processes, runs, select, serving


@pytest.fixture(autouse=True)
def postgres_only(backend: str) -> None:
    if backend == "sqlite":
        pytest.skip("procrastinate runs on PostgreSQL")


async def command(slack: FakeSlack, url: str, team: str, name: str, text: str) -> int:
    payload = slack.slash_command_payload(name, text, user_id=PROPOSER, channel_id=CHANNEL)
    payload["team_id"] = team
    status, _ = await slack.send_command(url, payload=payload, signing_secret=SECRET)
    return status


def drafts_posted(slack: FakeSlack) -> list[tuple[str | None, str]]:
    """(the token's team, the header) of each draft the bot posted."""
    return [
        (slack.team_of(c.token), header_of(c.params))
        for c in slack.calls
        if c.method == "chat.postMessage" and c.ok and " · draft " in header_of(c.params)
    ]


def header_of(params: dict[str, object]) -> str:
    return f"{params.get('text', '')} {params.get('blocks', '')}"


async def test_the_worker_posts_drafts_to_the_plans_workspace_with_its_token(
    tmp_path: Path,
) -> None:
    model = ScriptedModel()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with FakeSlack() as slack, FakeOpenAI(reply_fn=model) as text, FakeFal() as fal:
        slack.oauth_app(CLIENT_ID, CLIENT_SECRET, [base + REDIRECT_PATH])
        slack.add_team(TEAM_A, "Alpha")
        slack.add_team(TEAM_B, "Beta")
        env = environment(
            tmp_path,
            text,
            fal,
            slack,
            port,
            SLACK_CLIENT_ID=CLIENT_ID,
            SLACK_CLIENT_SECRET=CLIENT_SECRET,
            SLACK_OAUTH_URL=slack.authorize_url,
            SECRETS_KEY=KEY,
        )
        del env["SLACK_BOT_TOKEN"]
        with processes(tmp_path, env) as bots:
            serve = bots.start("serve")
            await wait_until(lambda: serving(port), 60)
            for team in (TEAM_A, TEAM_B):
                status, page, _ = await install_at(slack, base, team)
                assert status == 200, page
            installed = len(slack.calls)
            url = f"{base}/slack/events"
            assert await command(slack, url, TEAM_A, "/propose", SEED_PROPOSE) == 200
            await wait_until(lambda: select("SELECT current_rev FROM plans") == [(1,)], 30)
            assert await command(slack, url, TEAM_A, "/run", "1") == 200
            await wait_until(lambda: runs() == [("queued",)], 30)
            serve.send_signal(signal.SIGTERM)
            assert serve.wait(timeout=30) == 0

            bots.start("worker")
            await wait_until(lambda: runs() == [("done",)], 120)
            await wait_until(lambda: len(drafts_posted(slack)) == 5, 30)
            posted = drafts_posted(slack)
            assert {team for team, _ in posted} == {TEAM_A}, posted
            assert len({shown for _, shown in posted}) == 5
            # Slack's own channel id went out, not draftroom's name for it (T…/C…).
            channels = {
                c.params["channel"]
                for c in slack.calls
                if c.method == "chat.postMessage" and slack.team_of(c.token) == TEAM_A
            }
            assert channels == {CHANNEL}
            later = slack.calls[installed:]
            assert not [c.method for c in later if slack.team_of(c.token) == TEAM_B]
            assert select("SELECT status FROM posts") == [("awaiting_approval",)] * 5
            assert bots.stop_all()[1:] == [0]
