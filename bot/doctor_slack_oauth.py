"""Slack checks when workspaces install draftroom with a button (SLACK_CLIENT_ID), where there is
no bot token to test: the client id and secret are checked by `oauth.v2.access` with a code no
one issued (Slack answers `invalid_code` only once both are right; nothing is installed or
spent), and SECRETS_KEY by opening what it sealed."""

from __future__ import annotations

import httpx

from bot.doctor_check import Check, json_of, ok, problem, unreachable
from bot.settings import Settings
from bot.slack_installation_store import sealer
from bot.slack_oauth import INSTALL_PATH

NOT_ISSUED = "draftroom-doctor-not-a-code"
BASIC_INFORMATION = "copy it from Basic Information → App Credentials at api.slack.com/apps."


async def oauth_checks(settings: Settings, http: httpx.AsyncClient) -> list[Check]:
    return [await _client(settings, http), _secrets_key(settings)]


async def _client(settings: Settings, http: httpx.AsyncClient) -> Check:
    secret = settings.slack_client_secret
    if not settings.slack_client_id or secret is None or not secret.get_secret_value():
        return problem(
            "slack oauth", "SLACK_CLIENT_ID needs SLACK_CLIENT_SECRET beside it.", BASIC_INFORMATION
        )
    url = settings.slack_api_url.rstrip("/") + "/oauth.v2.access"
    try:
        response = await http.post(
            url,
            data={"code": NOT_ISSUED},
            auth=(settings.slack_client_id, secret.get_secret_value()),
            timeout=15,
        )
    except httpx.HTTPError as exc:
        return unreachable("slack oauth", "Slack's Web API", exc, "SLACK_API_URL")
    error = json_of(response).get("error")
    if error == "invalid_client_id":
        return problem("slack oauth", "Slack knows no app by SLACK_CLIENT_ID.", BASIC_INFORMATION)
    if error == "bad_client_secret":
        return problem(
            "slack oauth", "SLACK_CLIENT_SECRET is not this app's secret.", BASIC_INFORMATION
        )
    if error != "invalid_code":
        return problem(
            "slack oauth",
            f"oauth.v2.access answered {error or f'HTTP {response.status_code}'}.",
            "check SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_API_URL.",
        )
    return ok(
        "slack oauth",
        f"Slack accepts the app's client id and secret; workspaces install at {INSTALL_PATH}.",
    )


def _secrets_key(settings: Settings) -> Check:
    keys = settings.secrets_key
    fix = (
        'make one with: python -c "from cryptography.fernet import Fernet; '
        'print(Fernet.generate_key().decode())" and set SECRETS_KEY to it.'
    )
    if keys is None or not keys.get_secret_value():
        return problem("secrets key", "SECRETS_KEY is unset: tokens could not be sealed.", fix)
    try:
        seal = sealer(keys.get_secret_value())
        seal.open(seal.seal("draftroom doctor"))
    except ValueError as exc:  # SealingKeyError: says what is wrong with the key
        return problem("secrets key", str(exc), fix)
    return ok("secrets key", "SECRETS_KEY seals and opens the workspaces' tokens.")
