"""Installing draftroom in Slack workspaces through OAuth v2, end to end over HTTP: the bot's
/slack/install, the fake Slack's authorize page, the bot's /slack/oauth_redirect, the code
exchanged at oauth.v2.access. Each workspace gets a row with its own token, sealed; a forged or
spent state stores nothing; an uninstall deletes the workspace's rows and its requests are not
served after it; the single-token `.env` set-up is what it was."""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path

import aiohttp
import pytest

from bot.bootstrap import build
from bot.errors import ConfigError
from bot.slack_adapter import SlackAdapter
from bot.slack_oauth import INSTALL_PATH, REDIRECT_PATH
from bot.slack_scopes import BOT_SCOPES
from handlers.workspace_publishing import PersonasForm
from handlers.workspace_settings import SettingsForm
from tests.fakes.slack import FakeSlack
from tests.slack_oauth_support import (
    TEAM_A,
    TEAM_B,
    base_url,
    install,
    installation_rows,
    oauth_settings,
    opened,
    register_app,
    team_command,
    team_event,
)
from tests.slack_support import running_bot, slack_settings
from tests.support import wait_until


async def test_two_workspaces_install_each_with_its_own_sealed_token(tmp_path: Path) -> None:
    async with FakeSlack() as fake, running_bot(fake, oauth_settings(tmp_path, fake)) as bot:
        register_app(fake, bot)
        for team in (TEAM_A, TEAM_B):
            status, page, url = await install(bot, team)
            assert (status, url.path) == (200, REDIRECT_PATH), page
            assert "draftroom is installed in" in page
        rows = await installation_rows(bot.app.room.deps.db)
        assert [r["team_id"] for r in rows] == [TEAM_A, TEAM_B]
        for row in rows:
            issued = fake.teams[row["team_id"]].tokens
            assert len(issued) == 1
            assert opened(row["bot_token_sealed"]) == issued[0]
            assert issued[0] not in row["bot_token_sealed"]
            assert row["bot_refresh_sealed"] and "xoxe-1-" not in row["bot_refresh_sealed"]
            assert row["installer_user_id"] == "UINSTALLER"
            assert row["bot_token_expires_at"] > 0
            assert set(row["bot_scopes"].split(",")) == set(BOT_SCOPES)
        # A request from each workspace is authorized with that workspace's own token.
        for team in (TEAM_A, TEAM_B):
            assert await team_command(bot, team, "/help") == 200
            token = fake.teams[team].tokens[0]
            checks = [c for c in fake.calls if c.method == "auth.test" and c.token == token]
            assert checks and checks[-1].response["team_id"] == team
        authorize = [c for c in fake.calls if c.method == "oauth/v2/authorize"]
        assert [c.params["client_id"] for c in authorize] == ["4242.1717"] * 2
        assert set(authorize[0].params["scope"].split(",")) == set(BOT_SCOPES)


async def test_a_forged_missing_or_spent_state_is_refused_and_stores_nothing(
    tmp_path: Path,
) -> None:
    async with FakeSlack() as fake, running_bot(fake, oauth_settings(tmp_path, fake)) as bot:
        register_app(fake, bot)
        redirect = base_url(bot) + REDIRECT_PATH
        db = bot.app.room.deps.db
        fake.installing(TEAM_A)
        # Cookies as written in each request, none kept: what one who copied a URL sends.
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
            # Slack's page, reached without the bot's /slack/install: no state of the bot's.
            forged = {"Cookie": "slack-app-oauth-state=forged"}
            query = {"code": "x", "state": "forged"}
            async with session.get(redirect, params=query, headers=forged) as resp:
                assert resp.status == 401 and "invalid_state" in await resp.text()
            async with session.get(redirect, params=query) as resp:  # no cookie
                assert resp.status == 400 and "invalid_browser" in await resp.text()
            assert await installation_rows(db) == []
            # A real install, then its redirect replayed with its cookie: the state is spent.
            async with session.get(base_url(bot) + INSTALL_PATH, allow_redirects=False) as resp:
                cookie = {"Cookie": resp.headers["Set-Cookie"].split(";")[0]}
                authorize_url = resp.headers["Location"]
            async with session.get(authorize_url, allow_redirects=False) as resp:
                back = resp.headers["Location"]
            async with session.get(back, headers=cookie) as resp:
                assert resp.status == 200, await resp.text()
            exchanges = [c for c in fake.calls if c.method == "oauth.v2.access"]
            async with session.get(back, headers=cookie) as resp:
                assert resp.status == 401 and "invalid_state" in await resp.text()
        assert [c for c in fake.calls if c.method == "oauth.v2.access"] == exchanges
        assert [r["team_id"] for r in await installation_rows(db)] == [TEAM_A]
        assert await db.scalar("SELECT COUNT(*) FROM slack_oauth_states") == 0


async def test_app_uninstalled_deletes_the_workspace_and_its_requests_go_unserved(
    tmp_path: Path,
) -> None:
    async with FakeSlack() as fake, running_bot(fake, oauth_settings(tmp_path, fake)) as bot:
        register_app(fake, bot)
        for team in (TEAM_A, TEAM_B):
            assert (await install(bot, team))[0] == 200
        db = bot.app.room.deps.db
        assert len(await installation_rows(db)) == 2
        room = bot.app.room
        for team in (TEAM_A, TEAM_B):
            workspace, rules = f"slack:{team}", SettingsForm(approvers="U0A1")
            await room.save_workspace_settings(workspace, "slack", "U0AD", admin=True, form=rules)
            chosen = PersonasForm(personas="labnotes")
            await room.save_workspace_personas(workspace, "slack", "U0AD", admin=True, form=chosen)
        uninstalled = fake.event_callback({"type": "app_uninstalled", "event_ts": fake.next_ts()})
        assert await team_event(bot, TEAM_A, uninstalled) == 200

        async def installed(team: str) -> bool:
            return team in [r["team_id"] for r in await installation_rows(db)]

        await wait_until(lambda: not_(installed(TEAM_A)))
        assert await installed(TEAM_B)
        # Its settings and personas went with it; the other workspace's stay.
        for table in ("workspace_settings", "workspace_publishing"):
            kept = await db.fetchall(f"SELECT workspace FROM {table}")
            assert [r["workspace"] for r in kept] == [f"slack:{TEAM_B}"], table
        # Its requests after it: not authorized, so nothing reaches the room.
        before = len(fake.calls)
        assert await team_command(bot, TEAM_A, "/propose", "after the uninstall") == 200
        assert await bot.app.room.deps.db.scalar("SELECT COUNT(*) FROM plans") == 0
        answered = [c.method for c in fake.calls[before:]]
        assert "chat.postEphemeral" not in answered and "chat.postMessage" not in answered
        notices = [p.body.get("text", "") for p in fake.response_url_posts]
        assert any("not installed in this workspace" in text for text in notices)
        # tokens_revoked for the other workspace's bot deletes it too.
        revoked = fake.event_callback(
            {"type": "tokens_revoked", "tokens": {"bot": ["U0BOT"]}, "event_ts": fake.next_ts()}
        )
        assert await team_event(bot, TEAM_B, revoked) == 200
        await wait_until(lambda: not_(installed(TEAM_B)))
        assert await installation_rows(db) == []


async def not_(condition: Awaitable[bool]) -> bool:
    return not await condition


async def test_oauth_mode_without_secrets_key_refuses_to_start_in_one_line(
    tmp_path: Path,
) -> None:
    async with FakeSlack() as fake:
        settings = oauth_settings(tmp_path, fake, SECRETS_KEY=None)
        async with build(settings) as app:
            with pytest.raises(ConfigError) as refused:
                await SlackAdapter(settings, app.room, host="127.0.0.1", port=0).start()
            assert "SECRETS_KEY" in str(refused.value) and "Fernet.generate_key" in str(
                refused.value
            )
            assert "\n" not in str(refused.value)
            bad = oauth_settings(tmp_path, fake, SECRETS_KEY="not-a-key")
            with pytest.raises(ConfigError, match="Fernet keys"):
                await SlackAdapter(bad, app.room, host="127.0.0.1", port=0).start()


async def test_single_token_mode_serves_as_before_and_has_no_install_page(
    tmp_path: Path,
) -> None:
    async with FakeSlack() as fake, running_bot(fake, slack_settings(tmp_path, fake)) as bot:
        assert bot.adapter.oauth is None
        assert await bot.command("/propose", "benchmarks as safety cases") == 200
        await bot.settle()
        assert bot.channel_cards("plan 1")
        assert all(c.token == fake.bot_token for c in fake.calls if c.method == "chat.postMessage")
        async with (
            aiohttp.ClientSession() as session,
            session.get(base_url(bot) + INSTALL_PATH) as resp,
        ):
            assert resp.status in (404, 405)
