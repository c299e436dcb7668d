"""`draftroom doctor` for an app that workspaces install with a button (SLACK_CLIENT_ID, no bot
token): the client id, the secret and SECRETS_KEY are each checked, a wrong one named with its
fix, and nothing is installed."""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet

from bot.doctor import run_checks
from bot.doctor_check import Check
from tests import doctor_support


def oauth_checks(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks if c.name in ("slack oauth", "secrets key", "slack token")}


async def test_a_working_install_set_up_is_ok_and_installs_nothing(tmp_path: Path) -> None:
    async with doctor_support.set_up(tmp_path) as s:
        del s.env["SLACK_BOT_TOKEN"], s.env["SLACK_APP_TOKEN"]
        s.env |= {
            "SLACK_CLIENT_ID": s.slack.client_id,
            "SLACK_CLIENT_SECRET": s.slack.client_secret,
            "SECRETS_KEY": Fernet.generate_key().decode(),
        }
        found = oauth_checks(await run_checks(s.settings()))
        assert set(found) == {"slack oauth", "secrets key"}
        assert all(c.level == "ok" for c in found.values()), found
        assert "/slack/install" in found["slack oauth"].detail
        granted = [c for c in s.slack.calls if c.method == "oauth.v2.access"]
        assert [c.response for c in granted] == [{"ok": False, "error": "invalid_code"}]


async def test_a_wrong_client_id_secret_or_key_is_named(tmp_path: Path) -> None:
    async with doctor_support.set_up(tmp_path) as s:
        del s.env["SLACK_BOT_TOKEN"], s.env["SLACK_APP_TOKEN"]
        s.env |= {
            "SLACK_CLIENT_ID": "9999.0000",
            "SLACK_CLIENT_SECRET": s.slack.client_secret,
            "SECRETS_KEY": "not-a-fernet-key",
        }
        found = oauth_checks(await run_checks(s.settings()))
        assert found["slack oauth"].level == "problem"
        assert "SLACK_CLIENT_ID" in found["slack oauth"].detail
        assert "Basic Information" in found["slack oauth"].fix
        assert found["secrets key"].level == "problem"
        assert "Fernet.generate_key" in found["secrets key"].fix

        s.env["SLACK_CLIENT_ID"] = s.slack.client_id
        s.env["SLACK_CLIENT_SECRET"] = "an-old-secret"
        found = oauth_checks(await run_checks(s.settings()))
        assert found["slack oauth"].level == "problem"
        assert "SLACK_CLIENT_SECRET" in found["slack oauth"].detail
