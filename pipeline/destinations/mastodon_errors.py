"""Mastodon.py's exceptions as DestinationError: retryable or not, and whether the status may
exist anyway. Messages name the instance and the setting to fix, never the token."""

from __future__ import annotations

import time

from mastodon import (
    MastodonAPIError,
    MastodonError,
    MastodonIOError,
    MastodonNetworkError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
    MastodonVersionError,
)

from pipeline.destinations.base import DestinationError

_DETAIL_CHARS = 200


def destination_error(
    exc: MastodonError,
    *,
    doing: str,
    instance: str,
    token_setting: str,
    posting: bool,
    rate_limit_reset: float | None,
) -> DestinationError:
    """`doing` says what was attempted ("post the status"); `posting` is True when the request
    was the status itself, so a lost answer may hide a status that exists."""
    if isinstance(exc, MastodonVersionError) and isinstance(exc.__cause__, MastodonError):
        exc = exc.__cause__  # the version probe wraps what really went wrong
    where = f"Mastodon ({instance})"
    if isinstance(exc, MastodonRatelimitError):
        return DestinationError(
            f"{where} rate limit hit while trying to {doing}; {_reset_hint(rate_limit_reset)}",
            retryable=True,
        )
    if isinstance(exc, MastodonNetworkError):
        return DestinationError(
            f"could not reach {where} to {doing} (timed out or connection failed); "
            + ("it may have posted it, so the retry looks first" if posting else "try again"),
            retryable=True,
            unknown=posting,
        )
    if isinstance(exc, MastodonIOError):
        return DestinationError(f"could not read the media to {doing}: {exc}", retryable=False)
    if isinstance(exc, MastodonUnauthorizedError):
        return DestinationError(
            f"{where} refused the access token: set a valid token (scopes write:statuses, "
            f"write:media, read:accounts) in {token_setting}",
            retryable=False,
        )
    if isinstance(exc, MastodonServerError):
        return DestinationError(
            f"{where} answered {_status(exc)} when asked to {doing}; "
            + ("it may have posted it, so the retry looks first" if posting else "try again"),
            retryable=True,
            unknown=posting,
        )
    if isinstance(exc, MastodonAPIError):
        status = _status(exc)
        detail = _detail(exc)
        if status == 403:
            return DestinationError(
                f"{where} refused to {doing}: the token in {token_setting} lacks a scope"
                + (f" ({detail})" if detail else ""),
                retryable=False,
            )
        if status == 404:
            return DestinationError(
                f"{where} has no such API when asked to {doing}: check the instance URL",
                retryable=False,
            )
        return DestinationError(
            f"{where} refused to {doing} ({status}): {detail or 'no reason given'}",
            retryable=False,
        )
    return DestinationError(f"{where} failed to {doing}: {type(exc).__name__}", retryable=False)


def _reset_hint(reset: float | None) -> str:
    if reset is None:
        return "try again in a few minutes"
    return f"it resets in about {max(1, round(reset - time.time()))} s"


def _status(exc: MastodonAPIError) -> int | str:
    return exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else "an error"


def _detail(exc: MastodonAPIError) -> str:
    detail = exc.args[3] if len(exc.args) > 3 and isinstance(exc.args[3], str) else ""
    return detail[:_DETAIL_CHARS]
