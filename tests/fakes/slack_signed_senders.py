"""HTTP mode: the fake Slack POSTs to the bot, signed as Slack signs requests.

`SignedSendersMixin` sends events, slash commands and interactive payloads with
`X-Slack-Signature` / `X-Slack-Request-Timestamp` (or a bad signature on request) and records
each request and the bot's answer as a `Delivery`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
from slack_sdk.signature import SignatureVerifier


@dataclass
class Delivery:
    """A request the fake sent to the bot in HTTP mode."""

    kind: str  # "event" | "command" | "interactive"
    url: str
    body: str
    status: int
    response: str
    elapsed: float


class SignedSendersMixin:
    """Signed HTTP requests to the bot; part of ``SlackToBot``."""

    # Provided by FakeSlack.
    deliveries: list[Delivery]

    # ------------------------------------------------------------------ HTTP mode: calls to the bot

    async def send_event(
        self,
        bot_url: str,
        event: dict[str, Any],
        *,
        signing_secret: str,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        timestamp: int | None = None,
        bad_signature: bool = False,
        timeout: float = 10.0,
    ) -> tuple[int, str]:
        """POST an event (inner event, or a full `event_callback` envelope) signed like Slack."""
        if event.get("type") != "event_callback":
            event = self.event_callback(event, event_id=event_id)
        elif event_id is not None:
            event = {**event, "event_id": event_id}
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        body = json.dumps(event)
        return await self._send_signed(
            "event", bot_url, body, "application/json", signing_secret, timestamp, bad_signature,
            headers, timeout,
        )  # fmt: skip

    async def send_command(
        self,
        bot_url: str,
        command: str = "/propose",
        text: str = "",
        *,
        signing_secret: str,
        user_id: str = "U1",
        channel_id: str = "C1",
        payload: dict[str, str] | None = None,
        timestamp: int | None = None,
        bad_signature: bool = False,
        timeout: float = 10.0,
        team: str | None = None,
    ) -> tuple[int, str]:
        """POST a slash command (form-encoded) of `team`; its response_url points at this fake."""
        payload = payload or self.slash_command_payload(
            command, text, user_id=user_id, channel_id=channel_id, team=team
        )
        return await self._send_signed(
            "command", bot_url, urlencode(payload), "application/x-www-form-urlencoded",
            signing_secret, timestamp, bad_signature, {}, timeout,
        )  # fmt: skip

    async def send_interactive(
        self,
        bot_url: str,
        payload: dict[str, Any],
        *,
        signing_secret: str,
        timestamp: int | None = None,
        bad_signature: bool = False,
        timeout: float = 10.0,
    ) -> tuple[int, str]:
        """POST an interactive payload (form field `payload=<json>`), see block_action_payload."""
        body = urlencode({"payload": json.dumps(payload)})
        return await self._send_signed(
            "interactive", bot_url, body, "application/x-www-form-urlencoded", signing_secret,
            timestamp, bad_signature, {}, timeout,
        )  # fmt: skip

    async def _send_signed(
        self,
        kind: str,
        url: str,
        body: str,
        content_type: str,
        signing_secret: str,
        timestamp: int | None,
        bad_signature: bool,
        extra_headers: dict[str, str],
        timeout: float,
    ) -> tuple[int, str]:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        signature = SignatureVerifier(signing_secret).generate_signature(timestamp=ts, body=body)
        if bad_signature:
            signature = "v0=" + "0" * 64
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature or "",
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            **extra_headers,
        }
        start = time.monotonic()
        client_timeout = aiohttp.ClientTimeout(total=timeout)
        async with (
            aiohttp.ClientSession(timeout=client_timeout) as session,
            session.post(url, data=body.encode(), headers=headers) as resp,
        ):
            status, text = resp.status, await resp.text()
        self.deliveries.append(Delivery(kind, url, body, status, text, time.monotonic() - start))
        return status, text
