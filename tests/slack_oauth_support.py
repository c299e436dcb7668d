"""Shared pieces of the Slack OAuth tests: the bot in OAuth mode against the fake Slack, an
install through the real HTTP flow (a browser's cookie jar following the redirects), and
requests sent as one team."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import aiohttp
from cryptography.fernet import Fernet
from yarl import URL

from bot.settings import Settings
from bot.slack_oauth import INSTALL_PATH, REDIRECT_PATH
from storage.db import Database
from storage.sealing import Sealer
from tests.fakes.slack import FakeSlack
from tests.slack_support import SECRET, Bot, slack_settings

CLIENT_ID, CLIENT_SECRET = "4242.1717", "fake-oauth-client-secret"
KEY = Fernet.generate_key().decode()
TEAM_A, TEAM_B = "T0AAA", "T0BBB"


def oauth_settings(tmp_path: Path, fake: FakeSlack, **extra: Any) -> Settings:
    """OAuth mode: the app's client id and secret, no SLACK_BOT_TOKEN."""
    values: dict[str, Any] = {
        "SLACK_BOT_TOKEN": None,
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": CLIENT_SECRET,
        "SLACK_OAUTH_URL": fake.authorize_url,
        "SECRETS_KEY": KEY,
        **extra,
    }
    return slack_settings(tmp_path, fake, **values)


def base_url(bot: Bot) -> str:
    return f"http://127.0.0.1:{bot.adapter.port}"


def register_app(fake: FakeSlack, *bots: Bot) -> None:
    """What the app's settings page at Slack holds: its credentials and redirect URLs."""
    fake.oauth_app(CLIENT_ID, CLIENT_SECRET, [base_url(b) + REDIRECT_PATH for b in bots])
    for team_id, name in ((TEAM_A, "Alpha"), (TEAM_B, "Beta")):
        if team_id not in fake.teams:
            fake.add_team(team_id, name)


def browser(bot: Bot) -> aiohttp.ClientSession:
    return browser_at(base_url(bot))


def browser_at(base: str) -> aiohttp.ClientSession:
    """A browser's session: it keeps cookies, and, as browsers do for 127.0.0.1, sends the
    Secure ones over plain HTTP to the bot at `base`."""
    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[URL(base)])
    return aiohttp.ClientSession(cookie_jar=jar)


async def install(bot: Bot, team_id: str, user: str = "UINSTALLER") -> tuple[int, str, URL]:
    return await install_at(bot.fake, base_url(bot), team_id, user)


async def install_at(
    fake: FakeSlack, base: str, team_id: str, user: str = "UINSTALLER"
) -> tuple[int, str, URL]:
    """Open /slack/install of the bot at `base` (an app or a process) as `user` of `team_id`
    and follow Slack's redirects to the end."""
    fake.installing(team_id, user)
    async with browser_at(base) as session, session.get(base + INSTALL_PATH) as resp:
        return resp.status, await resp.text(), resp.url


async def installation_rows(db: Database) -> list[dict[str, Any]]:
    rows = await db.fetchall("SELECT * FROM slack_installations ORDER BY team_id")
    # A Row, not a dict: its keys come from keys().
    return [{key: row[key] for key in row.keys()} for row in rows]  # noqa: SIM118


def opened(sealed: str) -> str:
    return Sealer(KEY).open(sealed)


def as_team(envelope: dict[str, Any], team_id: str) -> dict[str, Any]:
    """An event_callback envelope of the fake, as Slack sends it for another team."""
    sent = copy.deepcopy(envelope)
    sent["team_id"] = sent["context_team_id"] = team_id
    for authorization in sent.get("authorizations", []):
        authorization["team_id"] = team_id
    if "team" in sent.get("event", {}):
        sent["event"]["team"] = team_id
    return sent


async def team_command(
    bot: Bot, team_id: str, name: str, text: str = "", *, user: str = "UPROPOSER"
) -> int:
    payload = bot.fake.slash_command_payload(name, text, user_id=user, channel_id="C1")
    payload["team_id"] = team_id
    status, _ = await bot.fake.send_command(bot.url, payload=payload, signing_secret=SECRET)
    return status


async def team_event(bot: Bot, team_id: str, envelope: dict[str, Any]) -> int:
    status, _ = await bot.fake.send_event(
        bot.url, as_team(envelope, team_id), signing_secret=SECRET
    )
    return status
