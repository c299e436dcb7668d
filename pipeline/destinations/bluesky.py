"""Bluesky: posts to one account through the atproto SDK's AsyncClient.

Built by the composition root, one per persona with a `bluesky` destination. The personas file
names the handle and the setting that holds the account's app password, never the password:

    [[personas.aiaaron.destinations]]
    kind = "bluesky"
    handle = "aiaaron.bsky.social"
    app_password_setting = "AIAARON_BLUESKY_APP_PASSWORD"

    BlueskyDestination(
        handle=spec.options["handle"],
        app_password=<the value of AIAARON_BLUESKY_APP_PASSWORD>,
        password_setting="AIAARON_BLUESKY_APP_PASSWORD",  # its NAME, for the messages
        service_url=settings.bluesky_service_url,  # BLUESKY_SERVICE_URL, https://bsky.social
    )

`web_url` (https://bsky.app) is where a post's link points. It logs in once, on its first
publish, and keeps that session (bluesky_session.py).

Never twice: the record key is a TID computed from the post's creation time, id and revision, so
every attempt targets the same record. Each publish first reads that record back and returns it
when it exists; a write that fails with a 5xx or times out (a duplicate key's createRecord answers
500) is read back again before the error is raised. Video is not posted yet: `limits()` says so,
and a post with a video is refused before anything is sent.
"""

from __future__ import annotations

import asyncio
import mimetypes
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from atproto_client import AsyncClient, models
from atproto_client.request import AsyncRequest
from atproto_client.utils import facet_detection

from pipeline.destinations.base import DestinationError, Image, Limits, Outgoing, Placed
from pipeline.destinations.bluesky_errors import describe_failure, xrpc_error_name
from pipeline.destinations.bluesky_keys import grapheme_count, post_rkey, utf8_size
from pipeline.destinations.bluesky_media import (
    UPLOADABLE_TYPES,
    FittedImage,
    ImageFitError,
    fit_image,
)
from pipeline.destinations.bluesky_session import BlueskySession, SdkError

DEFAULT_SERVICE_URL = "https://bsky.social"
DEFAULT_WEB_URL = "https://bsky.app"
POST_COLLECTION = "app.bsky.feed.post"
MAX_GRAPHEMES = 300
MAX_TEXT_BYTES = 3000
MAX_IMAGES = 4
# The newest lexicon allows 2 MB, but servers enforced 1,000,000 bytes: fit the smaller.
MAX_IMAGE_BYTES = 1_000_000


class BlueskyDestination:
    kind = "bluesky"

    def __init__(
        self,
        *,
        handle: str,
        app_password: str,
        password_setting: str = "BLUESKY_APP_PASSWORD",
        service_url: str = DEFAULT_SERVICE_URL,
        web_url: str = DEFAULT_WEB_URL,
        timeout_s: float = 30.0,
    ) -> None:
        self.handle = handle.removeprefix("@")
        self.name = f"bluesky @{self.handle}"
        self._web_url = web_url.rstrip("/")
        self._client = AsyncClient(service_url, request=AsyncRequest(timeout=timeout_s))
        self._session = BlueskySession(
            self._client,
            handle=self.handle,
            app_password=app_password,
            password_setting=password_setting,
        )

    async def limits(self) -> Limits:
        return Limits(
            max_chars=MAX_GRAPHEMES,
            counting="graphemes",
            max_images=MAX_IMAGES,
            max_image_bytes=MAX_IMAGE_BYTES,
            image_types=UPLOADABLE_TYPES,
            video=False,
            extra={"max_bytes": MAX_TEXT_BYTES, "alt_text_required": 1},
        )

    def text_length(self, text: str) -> int:
        return grapheme_count(text)

    async def publish(self, out: Outgoing) -> Placed:
        self._refuse_unfit(out)
        fitted = [await self._fit(image) for image in out.images]
        await self._session.ensure()
        rkey = post_rkey(out.created_at, out.post_id, out.rev)
        found = await self._read_back(rkey, out)
        if found is not None:
            return found
        embed = await self._upload(out.images, fitted) if fitted else None
        record = models.AppBskyFeedPost.Record(
            text=out.text,
            created_at=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            embed=embed,
            facets=facet_detection.detect_facets(out.text) or None,
        )
        data = models.ComAtprotoRepoCreateRecord.Data(
            repo=self._session.did, collection=POST_COLLECTION, rkey=rkey, record=record
        )
        try:
            created = await self._session.authorized(
                lambda: self._client.com.atproto.repo.create_record(data)
            )
        except SdkError as exc:
            failure = describe_failure(exc, "posting", who=self.name, wrote=True)
            if not failure.unknown:
                raise failure from exc
            # It may have landed (or the key was taken by an earlier attempt): look before
            # anything else.
            found = await self._read_back(rkey, out)
            if found is not None:
                return found
            raise failure from exc
        return Placed(remote_id=created.uri, url=self._post_url(rkey))

    async def close(self) -> None:
        await self._client.request.close()

    def _refuse_unfit(self, out: Outgoing) -> None:
        problems = []
        if (graphemes := grapheme_count(out.text)) > MAX_GRAPHEMES:
            problems.append(f"the text is {graphemes} graphemes, over {MAX_GRAPHEMES}")
        if (size := utf8_size(out.text)) > MAX_TEXT_BYTES:
            problems.append(f"the text is {size} bytes, over {MAX_TEXT_BYTES}")
        if len(out.images) > MAX_IMAGES:
            problems.append(f"{len(out.images)} images, over {MAX_IMAGES}")
        if out.video is not None:
            problems.append("it has a video, which this Bluesky destination does not post yet")
        if problems:
            raise DestinationError(
                f"{self.name} cannot take this post: {'; '.join(problems)}", retryable=False
            )

    async def _fit(self, image: Image) -> FittedImage:
        content_type = image.content_type or mimetypes.guess_type(image.path.name)[0] or ""
        try:
            data = await asyncio.to_thread(image.path.read_bytes)
            return await asyncio.to_thread(fit_image, data, content_type, MAX_IMAGE_BYTES)
        except (OSError, ImageFitError) as exc:
            raise DestinationError(
                f"{self.name} cannot post the image {image.path.name}: {exc}", retryable=False
            ) from exc

    async def _upload(
        self, images: tuple[Image, ...], fitted: list[FittedImage]
    ) -> models.AppBskyEmbedImages.Main:
        embedded = []
        for image, blob in zip(images, fitted, strict=True):
            uploaded = await self._session.call(
                "uploading an image",
                self._blob_upload(blob),
                wrote=False,  # a blob is addressed by its content: uploading it again is harmless
            )
            embedded.append(
                models.AppBskyEmbedImages.Image(
                    alt=image.alt,
                    image=uploaded.blob,
                    aspect_ratio=models.AppBskyEmbedDefs.AspectRatio(
                        width=blob.width, height=blob.height
                    ),
                )
            )
        return models.AppBskyEmbedImages.Main(images=embedded)

    def _blob_upload(
        self, blob: FittedImage
    ) -> Callable[[], Awaitable[models.ComAtprotoRepoUploadBlob.Response]]:
        def upload() -> Awaitable[models.ComAtprotoRepoUploadBlob.Response]:
            sent: Awaitable[models.ComAtprotoRepoUploadBlob.Response]
            sent = self._client.com.atproto.repo.upload_blob(
                blob.data, headers={"Content-Type": blob.content_type}
            )
            return sent

        return upload

    async def _read_back(self, rkey: str, out: Outgoing) -> Placed | None:
        """The record at `rkey` when it exists; raises when Bluesky cannot say."""
        params = models.ComAtprotoRepoGetRecord.Params(
            repo=self._session.did, collection=POST_COLLECTION, rkey=rkey
        )
        try:
            got = await self._session.authorized(
                lambda: self._client.com.atproto.repo.get_record(params)
            )
        except SdkError as exc:
            if xrpc_error_name(exc) == "RecordNotFound":
                return None
            failure = describe_failure(exc, "looking for the post", who=self.name, wrote=False)
            # Whether an earlier attempt landed is still open: the caller must look again.
            raise DestinationError(str(failure), retryable=failure.retryable, unknown=True) from exc
        text = (
            got.value.get("text")
            if isinstance(got.value, dict)
            else getattr(got.value, "text", None)
        )
        if text != out.text:
            raise DestinationError(
                f"{self.name}: the record key {rkey} of post {out.post_id} rev {out.rev} holds "
                "another post's text; not posting over it",
                retryable=False,
            )
        return Placed(remote_id=got.uri, url=self._post_url(rkey))

    def _post_url(self, rkey: str) -> str:
        # By DID, not handle: the link keeps working if the account changes its handle.
        return f"{self._web_url}/profile/{self._session.did}/post/{rkey}"
