"""Mastodon as a destination, through Mastodon.py (issue 14).

In the personas file (pipeline/personas.py checks the kind and its needs):

    [[personas.aaron.destinations]]
    kind = "mastodon"
    instance = "https://mastodon.social"
    access_token_setting = "AARON_MASTODON_ACCESS_TOKEN"  # the NAME of the setting (.env)
    handle = "aiaaron"  # optional: shown as "mastodon @aiaaron@mastodon.social"

constructed as

    MastodonDestination(options["instance"], <the value of that setting>,
                        token_setting=options["access_token_setting"],
                        handle=options.get("handle"), api_base_url=None)

The token needs the scopes write:statuses, write:media and read:accounts. `api_base_url` is
where the API is reached: the instance itself unless given (tests point it at
tests/fakes/mastodon_server.py).

Never twice: every status is posted with `Idempotency-Key: out.key`, the same on every retry,
and the server answers a repeated key with the first status. It keeps keys about an hour, so a
publish that may come later than that after the post was made (a crash, a schedule, a slow
approval) first reads the account's recent statuses for one with this text.

Mastodon.py is synchronous (requests): every call runs in a thread, bounded by its
request_timeout, and one publish at a time per destination shares its session.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from mastodon import Mastodon, MastodonError, MastodonNotFoundError

from pipeline.destinations.base import DestinationError, Limits, Outgoing, Placed
from pipeline.destinations.mastodon_errors import destination_error
from pipeline.destinations.mastodon_limits import Upload, limits_from_instance, media_to_upload
from pipeline.destinations.mastodon_text import URL_WEIGHT, html_as_text, same_text, status_length

T = TypeVar("T")

DEFAULT_TOKEN_SETTING = "MASTODON_ACCESS_TOKEN"
REQUEST_TIMEOUT_S = 30.0
# The server keeps an Idempotency-Key for an hour; past this age of the post, look first.
IDEMPOTENCY_WINDOW_S = 50 * 60
CLOCK_SKEW_S = 300.0  # statuses this much older than the post still count as candidates
READ_BACK_STATUSES = 40  # the API's page maximum
SOURCE_CHECKS = 10  # candidates whose plain source is fetched when their HTML did not match
MEDIA_WAIT_S = 120.0
MEDIA_POLL_S = 1.0


class MastodonDestination:
    kind = "mastodon"

    def __init__(
        self,
        instance_url: str,
        access_token: str,
        *,
        token_setting: str = DEFAULT_TOKEN_SETTING,
        handle: str | None = None,
        api_base_url: str | None = None,
        request_timeout_s: float = REQUEST_TIMEOUT_S,
        media_wait_s: float = MEDIA_WAIT_S,
        media_poll_s: float = MEDIA_POLL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not access_token.strip():
            raise ValueError(f"Mastodon needs an access token: set {token_setting}")
        self._host = urlsplit(instance_url).hostname or instance_url.strip("/")
        self.name = (
            f"mastodon @{handle.lstrip('@')}@{self._host}" if handle else f"mastodon {self._host}"
        )
        self._token_setting = token_setting
        self._api = Mastodon(
            api_base_url=(api_base_url or instance_url).rstrip("/"),
            access_token=access_token,
            request_timeout=request_timeout_s,
            ratelimit_method="throw",  # a 429 is the caller's to retry later, not a sleep here
            user_agent="draftroom",
        )
        self._media_wait_s = media_wait_s
        self._media_poll_s = media_poll_s
        self._clock = clock
        self._lock = asyncio.Lock()
        self._limits: Limits | None = None
        self._url_weight = URL_WEIGHT
        self._account_id: str | None = None

    async def limits(self) -> Limits:
        if self._limits is None:
            self._limits = await self._call("read the instance's limits", self._read_limits)
            self._url_weight = self._limits.extra.get("characters_reserved_per_url", URL_WEIGHT)
        return self._limits

    def text_length(self, text: str) -> int:
        return status_length(text, self._url_weight)

    async def publish(self, out: Outgoing) -> Placed:
        async with self._lock:
            limits = await self.limits()
            # Look before anything else: a status that exists is the answer, whatever has
            # changed since (the limits, an image file) and would refuse it now.
            if self._clock() - out.created_at >= IDEMPOTENCY_WINDOW_S:
                found = await self._find_posted(out, len(out.images) + (out.video is not None))
                if found is not None:
                    return found
            length = self.text_length(out.text)
            if length > limits.max_chars:
                raise DestinationError(
                    f"the text is {length} characters; Mastodon ({self._host}) takes "
                    f"{limits.max_chars} (a URL counts {self._url_weight})",
                    retryable=False,
                )
            uploads = await asyncio.to_thread(media_to_upload, out, limits)
            media_ids = [await self._upload(upload) for upload in uploads]
            status = await self._call(
                "post the status",
                self._api.status_post,
                out.text,
                media_ids=media_ids or None,
                idempotency_key=out.key,
                posting=True,
            )
            return _placed(status)

    async def close(self) -> None:
        self._api.session.close()

    def _read_limits(self) -> Limits:
        # Mastodon.py picks its media endpoint by the server's version: learn it now, or it
        # would quietly fall back to the old one when the check fails later.
        self._api.retrieve_mastodon_version(fail_hard=True)
        return limits_from_instance(self._api.instance_v2())

    async def _upload(self, upload: Upload) -> str:
        media = await self._call(
            f"upload {upload.file_name}",
            self._api.media_post,
            upload.data,
            mime_type=upload.content_type,
            description=upload.alt or None,
            file_name=upload.file_name,
        )
        deadline = time.monotonic() + self._media_wait_s
        while media.get("url") is None:  # 202: still processing
            if time.monotonic() > deadline:
                raise DestinationError(
                    f"Mastodon ({self._host}) was still processing {upload.file_name} after "
                    f"{self._media_wait_s:.0f} s; try again later",
                    retryable=True,
                )
            await asyncio.sleep(self._media_poll_s)
            media = await self._call(
                f"check {upload.file_name}'s processing", self._api.media, media["id"]
            )
        return str(media["id"])

    async def _find_posted(self, out: Outgoing, media_count: int) -> Placed | None:
        """A status of this account made since the post was, with this text and media count."""
        if self._account_id is None:
            me = await self._call("read the account", self._api.account_verify_credentials)
            self._account_id = str(me["id"])
        recent = await self._call(
            "read back recent statuses",
            self._api.account_statuses,
            self._account_id,
            limit=READ_BACK_STATUSES,
            exclude_reblogs=True,
        )
        since = out.created_at - CLOCK_SKEW_S
        candidates = [
            status
            for status in recent
            if _epoch(status.get("created_at")) >= since
            and len(status.get("media_attachments") or ()) == media_count
        ]
        for status in candidates:
            if same_text(out.text, html_as_text(status.get("content") or "")):
                return _placed(status)
        # Mastodon's HTML drops what the text had (a remote mention's domain): ask for the source.
        for status in candidates[:SOURCE_CHECKS]:
            source = await self._call(
                "read back a status's text", self._status_source, status["id"]
            )
            if source is not None and same_text(out.text, source):
                return _placed(status)
        return None

    def _status_source(self, status_id: Any) -> str | None:
        try:
            return str(self._api.status_source(status_id).get("text") or "")
        except MastodonNotFoundError:
            return None  # a server without the endpoint (before Mastodon 3.5)

    async def _call(
        self, doing: str, fn: Callable[..., T], *args: Any, posting: bool = False, **kwargs: Any
    ) -> T:
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except MastodonError as exc:
            raise destination_error(
                exc,
                doing=doing,
                instance=self._host,
                token_setting=self._token_setting,
                posting=posting,
                rate_limit_reset=self._api.ratelimit_reset,
            ) from exc


def _placed(status: Mapping[str, Any]) -> Placed:
    return Placed(remote_id=str(status["id"]), url=str(status.get("url") or status["uri"]))


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError:
            return 0.0
    return 0.0
