"""`draftroom discord-invite`: scopes, the exact permissions, the id taken from the token."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.discord_invite import application_id, invite_url
from bot.errors import ConfigError
from bot.settings import Settings

BOT_ID = 1200000000000000001
TOKEN = base64.b64encode(str(BOT_ID).encode()).decode().rstrip("=") + ".GhIjKl.secret-part"
# View Channel, Send Messages, Send Messages in Threads, Create Public Threads, Embed Links,
# Attach Files, Read Message History, Add Reactions.
PERMISSIONS = (
    (1 << 10) | (1 << 11) | (1 << 38) | (1 << 35) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 6)
)


def settings(**env: object) -> Settings:
    return Settings(_env_file=None, DISCORD_BOT_TOKEN=TOKEN, **env)  # type: ignore[call-arg]


def test_invite_url_has_the_scopes_and_exactly_the_permissions() -> None:
    url = urlsplit(invite_url(settings()))
    query = parse_qs(url.query)
    assert (url.scheme, url.netloc, url.path) == ("https", "discord.com", "/oauth2/authorize")
    assert query["client_id"] == [str(BOT_ID)]
    assert query["scope"] == ["bot applications.commands"]
    assert query["permissions"] == [str(PERMISSIONS)] == ["309237763136"]
    assert "guild_id" not in query


def test_with_a_guild_the_invite_goes_straight_to_it() -> None:
    query = parse_qs(urlsplit(invite_url(settings(DISCORD_GUILD_ID=42))).query)
    assert query["guild_id"] == ["42"] and query["disable_guild_select"] == ["true"]


def test_the_application_id_comes_from_the_token() -> None:
    assert application_id(TOKEN) == BOT_ID
    assert application_id("Bot " + TOKEN) == BOT_ID
    with pytest.raises(ConfigError):
        application_id("not a token")


def test_the_cli_prints_it(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISCORD_")}
    env["DISCORD_BOT_TOKEN"] = TOKEN
    printed = subprocess.run(
        [sys.executable, "-m", "bot", "discord-invite"],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # no .env here
        env=env,
        timeout=60,
        check=True,
    )
    assert f"permissions={PERMISSIONS}" in printed.stdout
    assert TOKEN not in printed.stdout + printed.stderr
