"""Slack checks, on free Web API calls only: `auth.test` (and the `x-oauth-scopes` header every
answer carries), `apps.connections.open` for Socket Mode, and `conversations.history` with
`limit=1` for membership. (`conversations.info` would need `channels:read`, which the manifest
does not ask for; history answers `not_in_channel` to a bot that was not invited.)"""

from __future__ import annotations

import httpx

from bot.doctor_check import Check, json_of, ok, problem, unreachable, warning
from bot.settings import Settings
from bot.slack_scopes import BOT_SCOPES

COPY_TOKEN = "copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions into SLACK_BOT_TOKEN."
ADD_SCOPES = (
    "add {scopes} under OAuth & Permissions → Bot Token Scopes at api.slack.com/apps (or paste "
    "the manifest from `draftroom slack-manifest`), then reinstall the app to the workspace."
)


class _Slack:
    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        self.base = settings.slack_api_url.rstrip("/") + "/"
        self.http = http

    async def call(self, method: str, token: str, **params: str) -> httpx.Response:
        return await self.http.post(
            self.base + method,
            data=params,
            headers={"Authorization": f"Bearer {token}"},
            timeout=15,
        )


async def slack_checks(
    settings: Settings, http: httpx.AsyncClient, channels: list[str]
) -> list[Check]:
    assert settings.slack_bot_token is not None
    slack = _Slack(settings, http)
    token = settings.slack_bot_token.get_secret_value()
    try:
        response = await slack.call("auth.test", token)
    except httpx.HTTPError as exc:
        return [unreachable("slack token", "Slack's Web API", exc, "SLACK_API_URL")]
    body = json_of(response)
    if body.get("ok") is not True:
        error = body.get("error") or f"HTTP {response.status_code}"
        return [problem("slack token", f"auth.test refused SLACK_BOT_TOKEN ({error}).", COPY_TOKEN)]
    checks = [ok("slack token", f"authenticates as @{body.get('user')} in {body.get('team')}.")]
    checks.append(_scopes(response.headers.get("x-oauth-scopes")))
    checks.append(await _mode(settings, slack))
    for channel in channels:
        checks.append(await _membership(slack, token, channel))
    return checks


def _scopes(header: str | None) -> Check:
    if header is None:
        return warning("slack scopes", "Slack did not say which scopes the token has.")
    granted = {s.strip() for s in header.split(",") if s.strip()}
    missing = [s for s in BOT_SCOPES if s not in granted]
    if missing:
        names = ", ".join(missing)
        return problem(
            "slack scopes",
            f"the bot token lacks {names}.",
            ADD_SCOPES.format(scopes=names),
        )
    return ok("slack scopes", f"the token has all {len(BOT_SCOPES)} scopes the manifest asks for.")


async def _mode(settings: Settings, slack: _Slack) -> Check:
    app_token = settings.slack_app_token
    if app_token is None:
        if settings.slack_signing_secret is None:
            return problem(
                "slack signing secret",
                "HTTP mode needs SLACK_SIGNING_SECRET to verify what Slack sends; it is not set.",
                "copy the Signing Secret from Basic Information into SLACK_SIGNING_SECRET, or "
                "set SLACK_APP_TOKEN for Socket Mode.",
            )
        return ok("slack signing secret", "set, for HTTP mode (Slack cannot check it for free).")
    try:
        response = await slack.call("apps.connections.open", app_token.get_secret_value())
    except httpx.HTTPError as exc:
        return unreachable("slack app token", "Slack's Web API", exc, "SLACK_API_URL")
    body = json_of(response)
    if body.get("ok") is True:
        return ok("slack app token", "opens a Socket Mode connection.")
    return problem(
        "slack app token",
        f"apps.connections.open refused SLACK_APP_TOKEN ({body.get('error')}).",
        "make an app-level token with connections:write under Basic Information → App-Level "
        "Tokens, put it (xapp-…) in SLACK_APP_TOKEN, and enable Socket Mode.",
    )


async def _membership(slack: _Slack, token: str, channel: str) -> Check:
    name = f"slack channel {channel}"
    try:
        response = await slack.call("conversations.history", token, channel=channel, limit="1")
    except httpx.HTTPError as exc:
        return unreachable(name, "Slack's Web API", exc, "SLACK_API_URL")
    body = json_of(response)
    if body.get("ok") is True:
        return ok(name, "the bot is a member.")
    error = body.get("error")
    if error == "not_in_channel":
        return problem(
            name,
            "the bot was used there but is not a member now.",
            "type /invite @draftroom in that channel.",
        )
    if error == "channel_not_found":
        return problem(
            name,
            "the bot cannot see it (a private channel it is not in, or archived or deleted).",
            "type /invite @draftroom in that channel, if it still exists.",
        )
    return warning(name, f"membership could not be checked ({error}).")
