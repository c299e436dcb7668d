"""X (Twitter) as a destination: API v2 posts through tweepy, with up to four images.

Built by the composition root from a persona's `[[personas.NAME.destinations]]` table of kind
"x", whose four credentials are named by setting (conventionally AIAARON_X_CONSUMER_KEY,
AIAARON_X_CONSUMER_SECRET, AIAARON_X_ACCESS_TOKEN, AIAARON_X_ACCESS_TOKEN_SECRET: the app's
consumer key and secret and the account's OAuth 1.0a access token and secret, with read and
write permission), and the install's X_API_URL (default https://api.x.com):

    XDestination(
        consumer_key, consumer_secret, access_token, access_token_secret,  # the values
        api_url=settings.x_api_url,  # X_API_URL, default X_API_URL below
        credential_settings=(the four setting names, in that order),  # named in a 401's message
        handle=spec.options.get("handle"),  # optional: the X username shown before it is read
    )

bot/bootstrap_outlets.py's `keys` (consumer_key, consumer_secret, access_token,
access_token_secret) fit the first four as keywords. A missing value is a ValueError naming its
setting. The account's username is read once (GET /2/users/me) and names the destination
("x @aiaaron") and its post URLs (https://x.com/<username>/status/<id>).

Never twice: X has no idempotency key, so every publish first reads the account's recent posts
(`find_posted`) and returns the one with this text if it is there. X also refuses a text the
account posted recently (403 "duplicate content"); that answer is read back the same way.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

from pipeline.destinations.base import DestinationError, Image, Limits, Outgoing, Placed
from pipeline.destinations.x_twitter_api import Account, Posted, XApi, normal_text
from pipeline.destinations.x_twitter_errors import as_destination_error, is_duplicate
from pipeline.destinations.x_twitter_media import (
    IMAGE_TYPES,
    MAX_ALT_TEXT,
    MAX_IMAGE_BYTES,
    fit_image,
)
from pipeline.destinations.x_twitter_text import MAX_WEIGHTED_LENGTH, weighted_length

X_API_URL = "https://api.x.com"
X_WEB_URL = "https://x.com"
MAX_IMAGES = 4
# The read-back window: the account's newest posts since the post was created (less a margin
# for clock skew), one page of X's largest page size. A retry comes minutes or hours after the
# attempt it follows; an account does not post 100 times in between, and every page read costs
# read quota, so one page is enough and a second is not worth its price.
LOOKBACK_POSTS = 100
CLOCK_SKEW_S = 300.0
DEFAULT_CREDENTIAL_SETTINGS = (
    "X_CONSUMER_KEY",
    "X_CONSUMER_SECRET",
    "X_ACCESS_TOKEN",
    "X_ACCESS_TOKEN_SECRET",
)

T = TypeVar("T")


class XDestination:
    kind = "x"

    def __init__(
        self,
        consumer_key: str,
        consumer_secret: str,
        access_token: str,
        access_token_secret: str,
        *,
        api_url: str = X_API_URL,
        credential_settings: Sequence[str] = DEFAULT_CREDENTIAL_SETTINGS,
        handle: str | None = None,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        values = (consumer_key, consumer_secret, access_token, access_token_secret)
        missing = [
            name for name, value in zip(credential_settings, values, strict=True) if not value
        ]
        if missing:
            raise ValueError(f"the X destination needs {', '.join(missing)}; set it in .env.")
        self._credentials = ", ".join(credential_settings)
        self._api = XApi(*values, api_url=api_url, timeout=(connect_timeout_s, read_timeout_s))
        self._clock = clock
        self._account: Account | None = None
        # One publish at a time per account: two at once could both miss in the read-back.
        self._publishing = asyncio.Lock()
        self.name = f"x @{handle.lstrip('@')}" if handle else "x"

    async def limits(self) -> Limits:
        return Limits(
            max_chars=MAX_WEIGHTED_LENGTH,
            counting="weighted",
            max_images=MAX_IMAGES,
            max_image_bytes=MAX_IMAGE_BYTES,
            image_types=IMAGE_TYPES,
            extra={"max_alt_text_chars": MAX_ALT_TEXT},
        )

    def text_length(self, text: str) -> int:
        return weighted_length(text)

    async def publish(self, out: Outgoing) -> Placed:
        """Publish `out` once: read the account back first, then upload, then post. The read
        comes first on every call, not only after a failure this object saw: after a crash the
        new process cannot know an earlier one posted, and the contract passes no such flag."""
        self._refuse_unfit(out)
        async with self._publishing:
            return await self._publish(out)

    async def _publish(self, out: Outgoing) -> Placed:
        account = await self._me()
        found = await self.find_posted(account, out)
        if found is not None:
            return found
        media_ids = [await self._upload(image) for image in out.images]
        try:
            posted = await asyncio.to_thread(self._api.create, out.text, media_ids)
        except Exception as exc:
            if not is_duplicate(exc):
                raise self._error(exc, "posting", creates_post=True) from exc
            found = await self.find_posted(account, out)
            if found is not None:
                return found
            raise DestinationError(
                f"X refused the post as a duplicate of one already on @{account.username}, "
                f"older than its newest {LOOKBACK_POSTS} posts since this post was drafted; "
                "change the text.",
                retryable=False,
            ) from exc
        return self._placed(account, posted)

    async def find_posted(self, account: Account, out: Outgoing) -> Placed | None:
        """This post on the account, if an earlier attempt made it: the same text (NFC, trimmed,
        t.co links expanded) among the account's newest LOOKBACK_POSTS posts, replies and
        reposts left out, made since the post was created (less CLOCK_SKEW_S)."""
        since = datetime.fromtimestamp(max(out.created_at - CLOCK_SKEW_S, 1_300_000_000), UTC)
        posts = await self._call(
            "reading the account's recent posts",
            self._api.recent_posts,
            account.id,
            since.replace(microsecond=0),
            LOOKBACK_POSTS,
        )
        wanted = normal_text(out.text)
        for post in posts:
            if post.text == wanted:
                return self._placed(account, post)
        return None

    async def close(self) -> None:
        await asyncio.to_thread(self._api.close)

    def _refuse_unfit(self, out: Outgoing) -> None:
        problems: list[str] = []
        length = weighted_length(out.text)
        if length > MAX_WEIGHTED_LENGTH:
            problems.append(f"its text weighs {length} characters (X allows {MAX_WEIGHTED_LENGTH})")
        if not out.text.strip() and not out.images:
            problems.append("it has neither text nor images")
        if len(out.images) > MAX_IMAGES:
            problems.append(f"it has {len(out.images)} images (X allows {MAX_IMAGES})")
        if out.video is not None:
            problems.append("it has a video, which this X destination does not upload")
        if problems:
            raise DestinationError(
                f"X cannot take this post: {'; '.join(problems)}.", retryable=False
            )

    async def _me(self) -> Account:
        if self._account is None:
            self._account = await self._call("reading the account", self._api.me)
            self.name = f"x @{self._account.username}"
        return self._account

    async def _upload(self, image: Image) -> str:
        data, content_type = await asyncio.to_thread(fit_image, image.path)
        media_id = await self._call(
            "uploading an image", self._api.upload_image, data, content_type
        )
        alt = image.alt.strip()[:MAX_ALT_TEXT]
        if alt:
            await self._call("setting an image's alt text", self._api.set_alt_text, media_id, alt)
        return media_id

    async def _call(self, doing: str, call: Callable[..., T], *args: object) -> T:
        try:
            return await asyncio.to_thread(call, *args)
        except Exception as exc:
            raise self._error(exc, doing, creates_post=False) from exc

    def _error(self, exc: Exception, doing: str, *, creates_post: bool) -> DestinationError:
        return as_destination_error(
            exc,
            doing=doing,
            creates_post=creates_post,
            credentials=self._credentials,
            clock=self._clock,
        )

    def _placed(self, account: Account, post: Posted) -> Placed:
        return Placed(post.id, f"{X_WEB_URL}/{account.username}/status/{post.id}")
