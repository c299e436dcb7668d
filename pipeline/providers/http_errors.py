"""Turn an HTTP failure into a ProviderError whose message is safe to show in chat.

The retry decision lives here so every provider classifies failures the same way; the
retrying itself is done once, by `pipeline.retry`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from email.utils import parsedate_to_datetime

import httpx

from pipeline.providers.base import ProviderError

RETRYABLE_STATUSES = frozenset({408, 409, 429})
MAX_MESSAGE_CHARS = 300


def provider_error(
    provider: str,
    failure: httpx.Response | Exception,
    *,
    secrets: Iterable[str | None] = (),
) -> ProviderError:
    """Classify a non-2xx response or an httpx exception.

    `secrets` (API keys) are cut out of the message: some providers echo the key they were
    given in their error text.
    """
    keys = [key for key in secrets if key]
    if isinstance(failure, httpx.Response):
        return _from_response(provider, failure, keys)
    return _from_exception(provider, failure, keys)


def safe_text(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Remove secrets first, then cut, so a cut can never leave half a key behind."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 3] + "..."


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: either delta-seconds or an HTTP-date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def response_message(response: httpx.Response, secrets: Iterable[str | None] = ()) -> str:
    """The provider's own error text: OpenAI/Anthropic `error.message`, fal `detail`."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return safe_text(response.text.strip(), secrets)
    return safe_text(_message_in(body) or json.dumps(body), secrets)


def _from_response(provider: str, response: httpx.Response, secrets: list[str]) -> ProviderError:
    status = response.status_code
    detail = response_message(response, secrets)
    retryable = status in RETRYABLE_STATUSES or status >= 500
    retry_after = parse_retry_after(response.headers.get("retry-after")) if retryable else None
    label = {429: "rate limited", 408: "request timeout", 409: "conflict"}.get(status, "error")
    message = f"{provider} answered HTTP {status} ({label})"
    if detail:
        message += f": {detail}"
    return ProviderError(message, retryable=retryable, retry_after=retry_after, status=status)


def _from_exception(provider: str, exc: Exception, secrets: list[str]) -> ProviderError:
    if isinstance(exc, httpx.TimeoutException):
        return ProviderError(
            f"{provider} did not answer in time ({type(exc).__name__})", retryable=True
        )
    # Unsupported scheme or a malformed request is our configuration, so retrying cannot help.
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.LocalProtocolError)):
        return ProviderError(
            f"{provider} request could not be sent: {safe_text(str(exc), secrets)}"
        )
    if isinstance(exc, httpx.TransportError):
        return ProviderError(
            f"{provider} connection failed ({type(exc).__name__}): {safe_text(str(exc), secrets)}",
            retryable=True,
        )
    return ProviderError(
        f"{provider} request failed ({type(exc).__name__}): {safe_text(str(exc), secrets)}"
    )


def _message_in(body: object) -> str | None:
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    if isinstance(error, str):
        return error
    detail = body.get("detail")
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        return str(detail[0].get("msg", detail[0]))
    message = body.get("message")
    return message if isinstance(message, str) else None
