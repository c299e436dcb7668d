"""What a failed call to X means for the publication: tweepy's and requests' exceptions as
DestinationError, with a short message that names no secret."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import requests
import tweepy

from pipeline.destinations.base import DestinationError
from pipeline.destinations.x_twitter_api import DUPLICATE_CONTENT

# A 429 says when each exhausted limit resets: the 15-minute window of the endpoint, the
# account's 24-hour post cap, the app's 24-hour cap.
_RESETS = (
    ("x-rate-limit-remaining", "x-rate-limit-reset"),
    ("x-user-limit-24hour-remaining", "x-user-limit-24hour-reset"),
    ("x-app-limit-24hour-remaining", "x-app-limit-24hour-reset"),
)


def is_duplicate(exc: Exception) -> bool:
    return isinstance(exc, tweepy.errors.Forbidden) and any(
        DUPLICATE_CONTENT in str(message).lower() for message in exc.api_messages
    )


def seconds_until_reset(headers: Mapping[str, str], now: float) -> int | None:
    """The wait a 429 asks for: until the latest reset of the limits it says are used up."""
    resets: list[int] = []
    for remaining, reset in _RESETS:
        value = headers.get(reset, "")
        if value.isdigit() and headers.get(remaining, "0") == "0":
            resets.append(int(value))
    if not resets:
        return None
    return max(0, max(resets) - int(now))


def _said(exc: tweepy.errors.HTTPException) -> str:
    messages = "; ".join(str(m) for m in exc.api_messages if m)
    return f": {messages[:200].rstrip('.')}" if messages else ""


def as_destination_error(
    exc: Exception,
    *,
    doing: str,
    creates_post: bool,
    credentials: str,
    clock: Callable[[], float] = time.time,
) -> DestinationError:
    """`doing` names the call ("posting", "uploading an image"); `creates_post`: whether this
    call may have made the post even though it failed (then the outcome is unknown)."""
    if isinstance(exc, DestinationError):
        return exc
    if isinstance(exc, tweepy.errors.Unauthorized):
        return DestinationError(
            f"X refused the credentials (401) while {doing}: set {credentials} to the app's "
            "consumer key and secret and the account's access token and secret.",
            retryable=False,
        )
    if isinstance(exc, tweepy.errors.TooManyRequests):
        wait = seconds_until_reset(exc.response.headers, clock())
        when = f"; it resets in {wait} s" if wait is not None else ""
        return DestinationError(
            f"X's rate limit is used up (429) while {doing}{when}.", retryable=True
        )
    if isinstance(exc, tweepy.errors.TwitterServerError):
        status = exc.response.status_code
        return DestinationError(
            f"X failed ({status}) while {doing}; it may be retried.",
            retryable=True,
            unknown=creates_post,
        )
    if isinstance(exc, tweepy.errors.HTTPException):
        status = exc.response.status_code
        return DestinationError(f"X refused {doing} ({status}){_said(exc)}.", retryable=False)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return DestinationError(f"X could not be reached in time while {doing}.", retryable=True)
    if isinstance(exc, requests.exceptions.Timeout):
        return DestinationError(
            f"X did not answer in time while {doing}.", retryable=True, unknown=creates_post
        )
    if isinstance(exc, requests.exceptions.RequestException):
        return DestinationError(
            f"X's connection failed while {doing} ({type(exc).__name__}).",
            retryable=True,
            unknown=creates_post,
        )
    raise exc
