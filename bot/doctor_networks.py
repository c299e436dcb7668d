"""The doctor's checks of each persona's social network destinations: its credentials are set,
and the network accepts them, asked only what is free (who am I), never to post.

Bluesky has no free "who am I" without a login, and logins are limited (about 30 per five
minutes an account): the doctor logs in once; `/help setup`, which approvers may run often, only
checks that the handle resolves.
"""

from __future__ import annotations

import asyncio

import httpx
from requests_oauthlib import OAuth1Session

from bot.bootstrap_outlets import setting_value
from bot.doctor_check import Check, json_of, ok, problem, unreachable
from bot.settings import Settings
from pipeline.personas import DESTINATION_NEEDS, DestinationSpec, PersonaError, load_personas

TIMEOUT_S = 10.0


async def network_checks(
    settings: Settings, http: httpx.AsyncClient, *, in_the_bot: bool = False
) -> list[Check]:
    try:
        personas = load_personas(settings.personas_file)
    except PersonaError:
        return []  # the local checks name what is wrong with the file
    found: list[Check] = []
    for handle, persona in personas.by_handle.items():
        for spec in persona.destinations:
            if spec.kind in ("bluesky", "mastodon", "x"):
                found.append(await _check(settings, http, handle, spec, in_the_bot))
    return found


async def _check(
    settings: Settings, http: httpx.AsyncClient, handle: str, spec: DestinationSpec, light: bool
) -> Check:
    name = f"{spec.kind} for @{handle}"
    _, secrets = DESTINATION_NEEDS[spec.kind]
    keys: dict[str, str] = {}
    for what in secrets:
        setting = spec.setting(what) or ""
        keys[what] = setting_value(setting)
        if not keys[what]:
            return problem(
                name,
                f"its {what.replace('_', ' ')} is read from {setting}, which is not set.",
                f"set {setting} in .env.",
            )
    try:
        if spec.kind == "mastodon":
            return await _mastodon(http, name, spec, keys["access_token"])
        if spec.kind == "x":
            return await _x(settings, name, spec, keys)
        return await _bluesky(settings, http, name, spec, keys["app_password"], light)
    except httpx.HTTPError as exc:
        return unreachable(name, spec.kind, exc, "the destination's URL in the personas file")


async def _mastodon(http: httpx.AsyncClient, name: str, spec: DestinationSpec, token: str) -> Check:
    base = spec.options["instance"].rstrip("/")
    answer = await http.get(
        f"{base}/api/v1/accounts/verify_credentials",
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT_S,
    )
    setting = spec.setting("access_token")
    if answer.status_code in (401, 403):
        return problem(
            name,
            f"the instance refuses the access token ({answer.status_code}).",
            f"make a token with write:statuses, write:media and read:accounts and set {setting}.",
        )
    if answer.status_code != 200:
        return problem(name, f"the instance answered {answer.status_code}.", "try again later.")
    return ok(name, f"the token is @{json_of(answer).get('username', '?')}'s.")


async def _x(settings: Settings, name: str, spec: DestinationSpec, keys: dict[str, str]) -> Check:
    def who_am_i() -> tuple[int, str]:
        session = OAuth1Session(
            keys["consumer_key"],
            keys["consumer_secret"],
            keys["access_token"],
            keys["access_token_secret"],
        )
        answer = session.get(f"{settings.x_api_url.rstrip('/')}/2/users/me", timeout=TIMEOUT_S)
        data = answer.json().get("data", {}) if answer.ok else {}
        return answer.status_code, str(data.get("username", "?"))

    try:
        status, username = await asyncio.to_thread(who_am_i)
    except OSError as exc:  # requests' connection errors are OSErrors
        return problem(name, f"cannot reach X ({type(exc).__name__}).", "check X_API_URL.")
    if status in (401, 403):
        settings_named = ", ".join(spec.setting(w) or "" for w in DESTINATION_NEEDS["x"][1])
        return problem(
            name,
            f"X refuses the keys ({status}).",
            f"check the app's keys and user tokens (read and write) in {settings_named}.",
        )
    if status != 200:
        return problem(name, f"X answered {status}.", "try again later.")
    return ok(name, f"the keys are @{username}'s.")


async def _bluesky(
    settings: Settings,
    http: httpx.AsyncClient,
    name: str,
    spec: DestinationSpec,
    password: str,
    light: bool,
) -> Check:
    base = settings.bluesky_service_url.rstrip("/")
    account = spec.options["handle"].removeprefix("@")
    if light:
        answer = await http.get(
            f"{base}/xrpc/com.atproto.identity.resolveHandle",
            params={"handle": account},
            timeout=TIMEOUT_S,
        )
        if answer.status_code != 200:
            return problem(name, f"the handle {account} does not resolve.", "check its handle.")
        return ok(name, f"{account} resolves (its password is checked by draftroom doctor).")
    answer = await http.post(
        f"{base}/xrpc/com.atproto.server.createSession",
        json={"identifier": account, "password": password},
        timeout=TIMEOUT_S,
    )
    if answer.status_code == 401:
        return problem(
            name,
            "Bluesky refuses the app password.",
            f"make an app password in Bluesky's settings and set {spec.setting('app_password')}.",
        )
    if answer.status_code != 200:
        return problem(name, f"Bluesky answered {answer.status_code}.", "try again later.")
    return ok(name, f"logged in as {json_of(answer).get('handle', account)}.")
