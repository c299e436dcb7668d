"""The fake Mastodon's media endpoints: POST /api/v2/media checks type, size and description
against the instance's limits and answers 202 (url null) while "processing"; GET
/api/v1/media/:id answers 206 until `processing_polls` polls have passed, then 200 with the url."""

from __future__ import annotations

import itertools
from typing import Any

from aiohttp import web

from tests.fakes.mastodon_answers import invalid
from tests.fakes.mastodon_entities import MEDIA_TYPES, media_entity

MAX_DESCRIPTION = 1500


class MediaEndpoints:
    url: str
    limits: dict[str, Any]
    video_size_limit: int
    processing_polls: int
    media: dict[str, dict[str, Any]]
    _polls_left: dict[str, int]
    _ids: itertools.count[int]

    async def _media_post(self, request: web.Request) -> web.Response:
        form = await request.post()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            return invalid("File can't be blank")
        kind = upload.content_type
        types = self.limits["supported_mime_types"] or MEDIA_TYPES
        if kind not in types:
            return invalid("File content type is invalid")
        size = len(upload.file.read())
        limit = (
            self.video_size_limit if kind.startswith("video/") else self.limits["image_size_limit"]
        )
        if limit is not None and size > limit:
            return invalid(f"File file size must be less than {limit // (1024 * 1024)} MB")
        description = str(form.get("description") or "")
        if len(description) > MAX_DESCRIPTION:
            return invalid(f"Description is too long (maximum is {MAX_DESCRIPTION} characters)")
        entity = self._new_media(kind.split("/")[0], description, ready=self.processing_polls == 0)
        self._polls_left[entity["id"]] = self.processing_polls
        return web.json_response(entity, status=200 if entity["url"] else 202)

    def _new_media(self, kind: str, description: str, *, ready: bool) -> dict[str, Any]:
        media_id = str(next(self._ids))
        self.media[media_id] = media_entity(self.url, media_id, kind, description, ready)
        return self.media[media_id]

    async def _media_get(self, request: web.Request) -> web.Response:
        media_id = request.match_info["id"]
        if media_id not in self.media:
            return web.json_response({"error": "Record not found"}, status=404)
        if self._polls_left.get(media_id, 0) > 0:
            self._polls_left[media_id] -= 1
            return web.json_response(self.media[media_id], status=206)
        ready = self.media[media_id]["url"] or media_entity(self.url, media_id, "", "", True)["url"]
        self.media[media_id].update(url=ready, preview_url=ready)
        return web.json_response(self.media[media_id])
