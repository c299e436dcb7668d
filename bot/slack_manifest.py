"""`draftroom slack-manifest`: the Slack app manifest, so that a new app is created in one step.

Paste the output at api.slack.com/apps → Create New App → From a manifest. With SLACK_APP_TOKEN
set the app uses Socket Mode; otherwise Slack sends everything to the request URLs, where
YOUR-HOST is the public address in front of SLACK_PORT. The YAML is written by hand: strings are
JSON-quoted, which YAML reads as its own double-quoted style.
"""

from __future__ import annotations

import json

from bot.settings import Settings
from bot.slack_adapter import EVENTS_PATH
from bot.slack_listeners import COMMANDS
from bot.slack_oauth import REDIRECT_PATH
from bot.slack_scopes import BOT_SCOPES
from handlers.commands import USAGE

APP_NAME = "draftroom"
DESCRIPTION = "Plan, draft and approve posts with an AI content pipeline, in your channels."
REQUEST_URL = f"https://YOUR-HOST{EVENTS_PATH}"
REDIRECT_URL = f"https://YOUR-HOST{REDIRECT_PATH}"
BOT_EVENTS = (
    "reaction_added",
    "reaction_removed",
    "message.channels",
    "message.groups",
    "app_home_opened",
    # An uninstall, or its tokens revoked: the workspace's tokens and settings are deleted.
    "app_uninstalled",
    "tokens_revoked",
)


def _quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _short(about: str, limit: int = 100) -> str:
    """Slack shows a one-line description: the first sentence, kept under its length limit."""
    first = about.split(". ")[0].rstrip(".") + "."
    return first if len(first) <= limit else first[: limit - 1].rsplit(" ", 1)[0] + "…"


def _command_lines(command: str, socket_mode: bool) -> list[str]:
    usage, about = USAGE[command.lstrip("/")]
    lines = [f"    - command: {command}"]
    if not socket_mode:
        lines.append(f"      url: {REQUEST_URL}")
    lines += [
        f"      description: {_quoted(_short(about))}",
        f"      usage_hint: {_quoted(usage.removeprefix(command).strip() or 'help')}",
        "      should_escape: false",
    ]
    return lines


def manifest(settings: Settings) -> str:
    token = settings.slack_app_token
    socket_mode = token is not None and bool(token.get_secret_value())
    request_url = [] if socket_mode else [f"    request_url: {REQUEST_URL}"]
    # Installed with a button (SLACK_CLIENT_ID): Slack sends the installer back here, and the
    # bot tokens expire and are refreshed (bot/slack_oauth.py).
    oauth = settings.slack_oauth
    redirect = ["  redirect_urls:", f"    - {REDIRECT_URL}"] if oauth else []
    lines = [
        "_metadata:",
        "  major_version: 1",
        "  minor_version: 1",
        "display_information:",
        f"  name: {APP_NAME}",
        f"  description: {_quoted(DESCRIPTION)}",
        "features:",
        "  bot_user:",
        f"    display_name: {APP_NAME}",
        "    always_online: true",
        "  app_home:",
        "    home_tab_enabled: true",
        "  slash_commands:",
        *(line for command in COMMANDS for line in _command_lines(command, socket_mode)),
        "oauth_config:",
        *redirect,
        "  scopes:",
        "    bot:",
        *(f"      - {_quoted(scope)}" for scope in BOT_SCOPES),
        "settings:",
        "  event_subscriptions:",
        *request_url,
        "    bot_events:",
        *(f"      - {event}" for event in BOT_EVENTS),
        "  interactivity:",
        "    is_enabled: true",
        *request_url,
        "  org_deploy_enabled: false",
        f"  socket_mode_enabled: {'true' if socket_mode else 'false'}",
        f"  token_rotation_enabled: {'true' if oauth else 'false'}",
    ]
    return "\n".join(lines) + "\n"
