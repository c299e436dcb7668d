"""`draftroom slack-manifest`: every command, event and scope, Socket Mode or request URLs, and
YAML that a small reader of the subset it uses can parse back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from bot.settings import Settings
from bot.slack_listeners import COMMANDS
from bot.slack_manifest import BOT_EVENTS, manifest
from tests.fakes.slack import FakeSlack

ROOT = Path(__file__).resolve().parent.parent


def scalar(text: str) -> Any:
    if text.startswith('"'):
        return json.loads(text)
    return {"true": True, "false": False}.get(text, int(text) if text.isdigit() else text)


def parse_yaml(text: str) -> Any:
    """Block mappings and sequences of scalars or mappings, indented by two: what the manifest
    uses. Raises on anything else, so odd output fails the test."""
    lines = [(len(raw) - len(raw.lstrip(" ")), raw.strip()) for raw in text.splitlines() if raw]
    value, end = _block(lines, 0, 0)
    assert end == len(lines), f"unparsed from line {end + 1}: {lines[end]}"
    return value


def _block(lines: list[tuple[int, str]], at: int, indent: int) -> tuple[Any, int]:
    if lines[at][1].startswith("- "):
        items: list[Any] = []
        while at < len(lines) and lines[at][0] == indent and lines[at][1].startswith("- "):
            first = lines[at][1][2:]
            if ": " in first and not first.startswith('"'):
                rest = [(indent + 2, first), *lines[at + 1 :]]
                item, used = _mapping(rest, 0, indent + 2)
                items.append(item)
                at += used
            else:
                items.append(scalar(first))
                at += 1
        return items, at
    return _mapping(lines, at, indent)


def _mapping(lines: list[tuple[int, str]], at: int, indent: int) -> tuple[dict[str, Any], int]:
    found: dict[str, Any] = {}
    while at < len(lines) and lines[at][0] == indent and not lines[at][1].startswith("- "):
        key, sep, rest = lines[at][1].partition(":")
        assert sep and key not in found, f"bad line: {lines[at][1]}"
        if rest.strip():
            found[key], at = scalar(rest.strip()), at + 1
        else:
            child = lines[at + 1][0]
            assert child == indent + 2, f"bad indentation after {key}"
            found[key], at = _block(lines, at + 1, child)
    assert at == len(lines) or lines[at][0] < indent, f"bad indentation: {lines[at][1]}"
    return found, at


def settings(**values: Any) -> Settings:
    return Settings(**{"_env_file": None, **values})


def test_http_mode_manifest() -> None:
    parsed = parse_yaml(manifest(settings(SLACK_BOT_TOKEN="xoxb-1")))
    url = "https://YOUR-HOST/slack/events"
    commands = parsed["features"]["slash_commands"]
    assert [c["command"] for c in commands] == list(COMMANDS)
    assert {
        "/propose",
        "/refine",
        "/run",
        "/post",
        "/posts",
        "/schedule",
        "/unschedule",
        "/costs",
        "/ask",
        "/queue",
        "/links",
        "/revoke",
        "/help",
    } == {c["command"] for c in commands}
    for command in commands:
        assert command["url"] == url and command["should_escape"] is False
        assert 1 <= len(command["description"]) <= 2000 and 1 <= len(command["usage_hint"]) <= 1000
    settings_part = parsed["settings"]
    assert settings_part["socket_mode_enabled"] is False
    assert settings_part["event_subscriptions"]["request_url"] == url
    assert settings_part["interactivity"] == {"is_enabled": True, "request_url": url}
    assert settings_part["event_subscriptions"]["bot_events"] == list(BOT_EVENTS)
    assert set(BOT_EVENTS) == {
        "reaction_added",
        "reaction_removed",
        "message.channels",
        "message.groups",
        "app_home_opened",
        "app_uninstalled",
        "tokens_revoked",
    }
    assert "redirect_urls" not in parsed["oauth_config"]
    assert settings_part["token_rotation_enabled"] is False
    scopes = set(parsed["oauth_config"]["scopes"]["bot"])
    assert scopes >= {
        "commands",
        "chat:write",
        "reactions:read",
        "reactions:write",
        "files:write",
        "channels:history",
        "groups:history",
    }
    assert len(parsed["display_information"]["description"]) <= 140
    # The tests' fake Slack grants exactly what an install of this manifest grants.
    assert set(FakeSlack().scopes) == scopes


def test_an_app_installed_with_a_button_redirects_back_and_rotates_its_tokens() -> None:
    parsed = parse_yaml(
        manifest(settings(SLACK_CLIENT_ID="1.2", SLACK_CLIENT_SECRET="s", SECRETS_KEY="k"))
    )
    assert parsed["oauth_config"]["redirect_urls"] == ["https://YOUR-HOST/slack/oauth_redirect"]
    assert parsed["settings"]["token_rotation_enabled"] is True


def test_socket_mode_manifest_has_no_request_urls() -> None:
    text = manifest(settings(SLACK_BOT_TOKEN="xoxb-1", SLACK_APP_TOKEN="xapp-1-x"))
    parsed = parse_yaml(text)
    assert parsed["settings"]["socket_mode_enabled"] is True
    assert "YOUR-HOST" not in text and "url" not in parsed["features"]["slash_commands"][0]
    assert parsed["settings"]["event_subscriptions"]["bot_events"] == list(BOT_EVENTS)


def test_the_cli_prints_it() -> None:
    env = {"PATH": "/usr/bin:/bin", "SLACK_APP_TOKEN": "xapp-1-x", "HOME": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "slack-manifest"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert parse_yaml(done.stdout)["settings"]["socket_mode_enabled"] is True
