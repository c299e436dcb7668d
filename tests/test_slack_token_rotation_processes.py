"""Token rotation across real processes: two `python -m bot run` in Slack HTTP mode, installed
through OAuth, on one PostgreSQL database, nothing else shared. A workspace installed through
the real flow with a bot token about to expire sends six commands to each process at once, so
both need a refresh at the same moment. The refresh token is spent once, whatever process takes
the advisory lock first (counted at the fake Slack: one refresh_token grant for the team, no
`invalid_refresh_token`), and every command is answered with the new token.

The fake Slack holds the first refresh grant until the other process has reached the
workspace's turn too (it waits on the advisory lock) or has asked for a refresh itself (no lock
across processes): without the hold the refresh is over in milliseconds, and a lock of one
process only would pass by luck.

tests/test_slack_token_rotation.py runs its two apps in one process, where
`PostgresDatabase.exclusive` also queues callers by name: only separate processes show the lock
held across sessions of different processes."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import psycopg
import pytest
from aiohttp import web

from bot.slack_oauth import MUST_REFRESH_S, REDIRECT_PATH
from storage.postgres_db import EXCLUSIVE_NS
from tests import support
from tests.fakes.slack import FakeSlack
from tests.slack_oauth_support import CLIENT_ID, CLIENT_SECRET, KEY, TEAM_A, install_at
from tests.slack_processes import SlackProcess, slack_processes
from tests.slack_support import CHANNEL, SECRET
from tests.support import wait_until
from tests.worker_support import select

COMMANDS_EACH = 6
NEARING_S = 4  # the install's token enters its last MUST_REFRESH_S this long after its grant
HOLD_S = 5  # within the fake's 10 s wait for a command's answer


@pytest.fixture(autouse=True)
def postgres_only(backend: str) -> None:
    if backend == "sqlite":
        pytest.skip("separate processes share a workspace's lock on PostgreSQL (advisory lock)")


def waiting_for_an_exclusive_turn() -> bool:
    """A session of this test's database waits on an `exclusive()` advisory lock: in-process
    callers queue before taking a session, so the waiter is another process."""
    assert support.DATABASE_URL is not None
    with psycopg.connect(support.DATABASE_URL) as conn:
        found = conn.execute(
            "SELECT COUNT(*) FROM pg_locks JOIN pg_database d ON d.oid = pg_locks.database"
            " WHERE locktype = 'advisory' AND NOT granted AND d.datname = current_database()"
            " AND classid = %s::bigint::oid",
            (EXCLUSIVE_NS,),
        ).fetchone()
    return bool(found and found[0])


class HeldRefreshSlack(FakeSlack):
    """The fake Slack, answering the first refresh grant only once the other process is in
    line for the workspace's turn, or asking for a refresh of its own."""

    def __init__(self) -> None:
        super().__init__()
        self.refresh_asks = 0
        self.contended: bool | None = None  # None until a refresh is held

    async def _handle_oauth_access(self, request: web.Request) -> web.Response:
        form = await request.post()  # aiohttp keeps it for the handler's own read
        if form.get("grant_type") == "refresh_token":
            self.refresh_asks += 1
            if self.refresh_asks == 1:
                await self._hold()
        return await super()._handle_oauth_access(request)

    async def _hold(self) -> None:
        def contended() -> bool:
            return self.refresh_asks > 1 or waiting_for_an_exclusive_turn()

        try:
            await wait_until(contended, HOLD_S)
        except AssertionError:
            self.contended = False
        else:
            self.contended = True


def oauth_env(fake: FakeSlack) -> dict[str, str]:
    """OAuth mode: the app's client id and secret; an empty SLACK_BOT_TOKEN counts as unset."""
    return {
        "SLACK_BOT_TOKEN": "",
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": CLIENT_SECRET,
        "SLACK_OAUTH_URL": fake.authorize_url,
        "SECRETS_KEY": KEY,
    }


def base(process: SlackProcess) -> str:
    return f"http://127.0.0.1:{process.port}"


def answers(fake: FakeSlack) -> list[str | None]:
    """The tokens of the ephemeral answers Slack accepted."""
    return [
        c.token
        for c in fake.calls
        if c.method == "chat.postEphemeral" and (c.response or {}).get("ok")
    ]


async def command(process: SlackProcess, user: str) -> int:
    payload = process.fake.slash_command_payload("/help", user_id=user, channel_id=CHANNEL)
    payload["team_id"] = TEAM_A
    status, _ = await process.fake.send_command(process.url, payload=payload, signing_secret=SECRET)
    return status


async def test_two_processes_refresh_a_token_near_expiry_once(tmp_path: Path) -> None:
    held = HeldRefreshSlack()
    async with held as fake, slack_processes(fake, tmp_path, 2, **oauth_env(fake)) as (one, two):
        fake.oauth_app(CLIENT_ID, CLIENT_SECRET, [base(one) + REDIRECT_PATH])
        team = fake.add_team(TEAM_A, "Alpha")
        fake.next_lifetime(MUST_REFRESH_S + NEARING_S)
        status, page, _ = await install_at(fake, base(one), TEAM_A)
        assert status == 200, page
        assert len(team.tokens) == 1
        [(expires_at,)] = select("SELECT bot_token_expires_at FROM slack_installations")
        due = float(expires_at) - MUST_REFRESH_S
        await wait_until(lambda: time.time() >= due, NEARING_S + 5)
        assert (team.refresh_grants, team.refused_refreshes) == (0, 0)

        sent = [command(process, f"U{n}") for n in range(COMMANDS_EACH) for process in (one, two)]
        assert await asyncio.gather(*sent) == [200] * len(sent)
        # Each command is answered, or its refresh refused (then it has no answer).
        await wait_until(lambda: len(answers(fake)) + team.refused_refreshes >= len(sent), 30)
        assert held.contended, "the other process never needed a refresh while one was out"

        assert (team.refresh_grants, team.refused_refreshes) == (1, 0)
        await wait_until(lambda: len(answers(fake)) == len(sent), 30)
        assert len(team.tokens) == 2
        fresh = team.tokens[-1]
        assert answers(fake) == [fresh] * len(sent)
        # Asked for once, with the refresh token of the install.
        [installed] = [
            c for c in fake.calls if c.method == "oauth.v2.access" and "code" in c.params
        ]
        grants = [
            c
            for c in fake.calls
            if c.method == "oauth.v2.access" and c.params.get("grant_type") == "refresh_token"
        ]
        assert [c.params["refresh_token"] for c in grants] == [installed.response["refresh_token"]]
