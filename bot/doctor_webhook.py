"""The publishing webhook: called only with `doctor --webhook`, signed like a real post and marked
`X-Draftroom-Test: true` (and `"test": true` in the body), so its receiver can recognise and
ignore it. Only the URL's host is ever shown: the rest may carry a credential."""

from __future__ import annotations

import json
import secrets
import time

import httpx

from bot.doctor_check import Check, ok, problem, warning
from bot.settings import Settings
from pipeline.publisher import WebhookPublisher

TEST_HEADER = "X-Draftroom-Test"
NAME = "publish webhook"


async def webhook_checks(settings: Settings, http: httpx.AsyncClient, *, call: bool) -> list[Check]:
    if settings.publish_webhook_url is None:
        return [ok(NAME, f"not set: approved posts go to {settings.outbox_dir}.")]
    if settings.publish_webhook_secret is None:
        return [
            problem(
                NAME,
                "PUBLISH_WEBHOOK_URL is set without PUBLISH_WEBHOOK_SECRET to sign posts.",
                "set PUBLISH_WEBHOOK_SECRET to the secret its receiver checks.",
            )
        ]
    try:
        hook = WebhookPublisher(
            settings.publish_webhook_url.get_secret_value(),
            settings.publish_webhook_secret.get_secret_value(),
            http,
        )
    except ValueError as exc:
        return [problem(NAME, f"PUBLISH_WEBHOOK_URL {exc}.", "set it to the receiver's URL.")]
    if not call:
        return [
            warning(
                NAME,
                f"set (host {hook.host}), not called.",
                "run `draftroom doctor --webhook` to send it a signed test call.",
            )
        ]
    return [await _test_call(settings, hook, http)]


async def _test_call(settings: Settings, hook: WebhookPublisher, http: httpx.AsyncClient) -> Check:
    assert settings.publish_webhook_url is not None
    body = json.dumps({"test": True, "source": "draftroom doctor", "at": time.time()}).encode()
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": f"doctor-{secrets.token_hex(8)}",
        "X-Draftroom-Signature": hook.sign(body),
        TEST_HEADER: "true",
    }
    url = settings.publish_webhook_url.get_secret_value()
    try:
        response = await http.post(url, content=body, headers=headers, timeout=15)
    except httpx.HTTPError as exc:
        return problem(
            NAME,
            f"{hook.host} cannot be reached ({type(exc).__name__}).",
            "check PUBLISH_WEBHOOK_URL and that its receiver is running.",
        )
    status = response.status_code
    if status < 300:
        return ok(NAME, f"{hook.host} accepted a signed test call (HTTP {status}).")
    if status in (401, 403):
        fix = "make PUBLISH_WEBHOOK_SECRET the secret its receiver checks."
        return problem(NAME, f"{hook.host} refused the signature (HTTP {status}).", fix)
    if status in (404, 405, 410):
        fix = "check the path of PUBLISH_WEBHOOK_URL against the receiver's."
        return problem(NAME, f"{hook.host} has no receiver at that URL (HTTP {status}).", fix)
    fix = "check the receiver's logs."
    return problem(NAME, f"{hook.host} answered HTTP {status} to a signed test call.", fix)
