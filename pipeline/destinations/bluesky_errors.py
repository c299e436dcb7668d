"""What a failed Bluesky call means for the publication: try again later, or give up; and whether
the request may have gone through. Messages name the account and what to do, never a token."""

from __future__ import annotations

import time

import httpx
from atproto_client.exceptions import (
    InvokeTimeoutError,
    RateLimitExceededError,
    RequestErrorBase,
)
from atproto_client.models.common import XrpcError
from atproto_core.exceptions import AtProtocolError

from pipeline.destinations.base import DestinationError

_SERVER_MESSAGE_CHARS = 200


def xrpc_error_name(exc: BaseException) -> str:
    """The XRPC `error` of a server's answer ("ExpiredToken", "RecordNotFound"), or ""."""
    if isinstance(exc, RequestErrorBase) and exc.response is not None:
        content = exc.response.content
        if isinstance(content, XrpcError):
            return str(content.error)
    return ""


def status_of(exc: BaseException) -> int | None:
    if isinstance(exc, RequestErrorBase) and exc.response is not None:
        return int(exc.response.status_code)
    return None


def _server_message(exc: BaseException) -> str:
    if isinstance(exc, RequestErrorBase) and exc.response is not None:
        content = exc.response.content
        if isinstance(content, XrpcError):
            said = content.message or content.error
            return str(said)[:_SERVER_MESSAGE_CHARS]
    return ""


def _wait_hint(exc: RateLimitExceededError) -> str:
    if exc.retry_after is not None:
        return f"; try again in {max(1, round(exc.retry_after))} s"
    if exc.reset_at is not None:
        seconds = max(1, round(exc.reset_at.timestamp() - time.time()))
        return f"; its limit resets in {seconds} s"
    return ""


def refused_login(handle: str, password_setting: str) -> DestinationError:
    return DestinationError(
        f"Bluesky refused the login of @{handle}: check the handle and set {password_setting} "
        "to an app password of that account (Settings → Privacy and security → App passwords)",
        retryable=False,
    )


def describe_failure(
    exc: AtProtocolError | httpx.HTTPError, doing: str, *, who: str, wrote: bool
) -> DestinationError:
    """`doing` reads after "while" ("posting"); `wrote` when the request could change the
    account, so an unanswered one may have been applied."""
    status = status_of(exc)
    if isinstance(exc, RateLimitExceededError):
        return DestinationError(
            f"Bluesky is rate limiting {who} (429) while {doing}{_wait_hint(exc)}",
            retryable=True,
        )
    if isinstance(exc, InvokeTimeoutError | httpx.TimeoutException):
        return DestinationError(
            f"Bluesky did not answer in time while {doing} for {who}", retryable=True, unknown=wrote
        )
    if status is None:
        return DestinationError(
            f"no usable answer from Bluesky while {doing} for {who}", retryable=True, unknown=wrote
        )
    if status >= 500 or status in (408, 409, 425):
        return DestinationError(
            f"Bluesky answered {status} while {doing} for {who}", retryable=True, unknown=wrote
        )
    if xrpc_error_name(exc) == "ExpiredToken":  # still, after a refresh: a later try logs in
        return DestinationError(
            f"Bluesky's session for {who} expired while {doing}", retryable=True, unknown=wrote
        )
    if status in (401, 403):
        return DestinationError(
            f"Bluesky refused the session of {who} while {doing} ({status}): check its app "
            "password and that the account is active",
            retryable=False,
        )
    said = _server_message(exc)
    return DestinationError(
        f"Bluesky refused this post for {who} while {doing} ({status}"
        f"{': ' + said if said else ''}); it will not be tried again",
        retryable=False,
    )
