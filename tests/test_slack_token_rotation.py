"""Token rotation across replicas: two bots on one database (two apps as two `draftroom serve`
processes run them: their own ports, clients and caches) get requests from one workspace whose
token is about to expire, all at once. The refresh token is spent once (counted at the fake
Slack: one refresh_token grant, no `invalid_refresh_token`), both bots use the new token, and
requests are still answered after it. A token only in its last two hours is refreshed beside
the requests: their acknowledgements never wait for the refresh."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from aiohttp import web

from bot.slack_oauth import MUST_REFRESH_S, ROTATE_BEFORE_MIN
from tests import support
from tests.fakes.slack import FakeSlack
from tests.slack_oauth_support import (
    TEAM_A,
    install,
    installation_rows,
    oauth_settings,
    opened,
    register_app,
    team_command,
)
from tests.slack_support import Bot, running_bot
from tests.support import wait_until

REQUESTS_EACH = 6
NEARING_S = 2


def answers(fake: FakeSlack, token: str | None = None) -> list[str | None]:
    """The tokens of the ephemeral answers Slack accepted (of `token` only, if given)."""
    return [
        c.token
        for c in fake.calls
        if c.method == "chat.postEphemeral"
        and (c.response or {}).get("ok")
        and (token is None or c.token == token)
    ]


async def settle(*bots: Bot) -> None:
    for bot in bots:
        await bot.settle()


async def test_a_token_near_expiry_is_refreshed_once_by_two_replicas_at_once(
    tmp_path: Path,
) -> None:
    async with FakeSlack() as fake:
        settings = oauth_settings(tmp_path, fake, DATABASE_URL=support.DATABASE_URL)
        async with running_bot(fake, settings) as first, running_bot(fake, settings) as second:
            register_app(fake, first, second)
            # A token that enters its last MUST_REFRESH_S a moment after the install.
            fake.next_lifetime(MUST_REFRESH_S + NEARING_S)
            # From the issue, not the stored row: the install's own first call (auth.test) may
            # already have begun the background refresh, which replaces the row's expiry.
            due = time.time() + NEARING_S + 1
            assert (await install(first, TEAM_A))[0] == 200
            team = fake.teams[TEAM_A]
            assert team.tokens
            await wait_until(lambda: time.time() >= due, NEARING_S + 5)

            sent = [
                team_command(bot, TEAM_A, "/help", user=f"U{n}")
                for n in range(REQUESTS_EACH)
                for bot in (first, second)
            ]
            assert await asyncio.gather(*sent) == [200] * len(sent)
            await settle(first, second)
            await wait_until(lambda: len(answers(fake)) == len(sent))

            assert (team.refresh_grants, team.refused_refreshes) == (1, 0)
            assert len(team.tokens) == 2
            fresh = team.tokens[-1]
            (row,) = await installation_rows(first.app.room.deps.db)
            assert opened(row["bot_token_sealed"]) == fresh
            # After it, each replica serves the workspace with the new token, refreshing no more.
            before = len(answers(fake, fresh))
            for bot in (first, second):
                assert await team_command(bot, TEAM_A, "/help") == 200
            await settle(first, second)
            await wait_until(lambda: len(answers(fake, fresh)) == before + 2)
            checks = [c for c in fake.calls if c.method == "auth.test" and c.token == fresh]
            assert checks and all(c.response["team_id"] == TEAM_A for c in checks)
            assert (team.refresh_grants, team.refused_refreshes) == (1, 0)


class HeldRefreshSlack(FakeSlack):
    """The fake Slack, holding every refresh grant until `release` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.refresh_asks = 0

    async def _handle_oauth_access(self, request: web.Request) -> web.Response:
        form = await request.post()  # aiohttp keeps it for the handler's own read
        if form.get("grant_type") == "refresh_token":
            self.refresh_asks += 1
            await self.release.wait()
        return await super()._handle_oauth_access(request)


async def test_a_token_in_its_last_hours_is_refreshed_beside_the_requests(
    tmp_path: Path,
) -> None:
    async with HeldRefreshSlack() as fake:
        settings = oauth_settings(tmp_path, fake, DATABASE_URL=support.DATABASE_URL)
        async with running_bot(fake, settings) as bot:
            register_app(fake, bot)
            fake.next_lifetime(ROTATE_BEFORE_MIN * 60 + NEARING_S)
            assert (await install(bot, TEAM_A))[0] == 200
            team = fake.teams[TEAM_A]
            [old] = team.tokens
            (row,) = await installation_rows(bot.app.room.deps.db)
            due = row["bot_token_expires_at"] - ROTATE_BEFORE_MIN * 60
            await wait_until(lambda: time.time() >= due, NEARING_S + 5)

            # The refresh is held at Slack: the commands are acknowledged and answered anyway,
            # with the token that still works, and one refresh is asked for, not two.
            for user in ("U1", "U2"):
                assert (
                    await asyncio.wait_for(team_command(bot, TEAM_A, "/help", user=user), 2) == 200
                )
            await wait_until(lambda: len(answers(fake, old)) == 2)
            assert fake.refresh_asks == 1 and team.refresh_grants == 0

            fake.release.set()
            await wait_until(lambda: team.refresh_grants == 1)
            fresh = team.tokens[-1]

            async def saved() -> bool:
                (row,) = await installation_rows(bot.app.room.deps.db)
                return bool(opened(row["bot_token_sealed"]) == fresh)

            await wait_until(saved)
            assert await team_command(bot, TEAM_A, "/help", user="U3") == 200
            await wait_until(lambda: len(answers(fake, fresh)) == 1)
            assert (fake.refresh_asks, team.refresh_grants, team.refused_refreshes) == (1, 1, 0)
