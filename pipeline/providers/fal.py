"""Images and videos from fal.ai's queue: submit once, store the handle, then poll and fetch."""

from __future__ import annotations

import asyncio
import contextlib
import mimetypes
import time
from typing import Any

import httpx

from pipeline.providers.base import MediaRequest, MediaResult, ProviderError, StepSkipped
from pipeline.providers.download import download_media
from pipeline.providers.http_errors import provider_error, safe_text

DEFAULT_IMAGE_MODEL = "fal-ai/flux-pro/v1.1-ultra"
# USD per output; fal returns no cost, and bills successful outputs only.
DEFAULT_PRICES = {DEFAULT_IMAGE_MODEL: 0.06}
DEFAULT_MEDIA_HOSTS = ["fal.media", "*.fal.media"]
HANDLE_URLS = ("status_url", "response_url", "cancel_url")
EXTENSIONS = {"image/jpeg": "jpeg", "image/png": "png", "image/webp": "webp", "video/mp4": "mp4"}


class FalMedia:
    def __init__(
        self,
        *,
        api_key: str,
        model: str = DEFAULT_IMAGE_MODEL,
        video_model: str | None = None,
        queue_url: str = "https://queue.fal.run",
        name: str = "fal",
        prices: dict[str, float] | None = None,
        timeout_s: float = 300.0,
        poll_interval_s: float = 1.0,
        max_poll_interval_s: float = 8.0,
        request_timeout_s: float = 30.0,
        media_hosts: list[str] | None = None,
        max_bytes: int = 200 * 1024 * 1024,
        output_format: str = "jpeg",
        safety_tolerance: str = "2",
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.name = name
        self.model = model
        self.video_model = video_model
        self.queue_url = queue_url.rstrip("/")
        self.prices = {**DEFAULT_PRICES, **(prices or {})}
        self.timeout_s = timeout_s
        self.poll_interval_s = poll_interval_s
        self.max_poll_interval_s = max_poll_interval_s
        self.request_timeout_s = request_timeout_s
        self.media_hosts = list(DEFAULT_MEDIA_HOSTS if media_hosts is None else media_hosts)
        self.max_bytes = max_bytes
        self.output_format = output_format
        self.safety_tolerance = safety_tolerance
        self._api_key = api_key
        self._origin = _origin(httpx.URL(self.queue_url))
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient()

    def __repr__(self) -> str:
        return f"FalMedia(name={self.name!r}, model={self.model!r}, video={self.video_model!r})"

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    def estimate_cost(self, request: MediaRequest) -> float:
        return self.prices.get(self._model_for(request), 0.0)

    async def submit(self, request: MediaRequest) -> dict[str, Any]:
        model = self._model_for(request)
        submitted_at = time.time()
        answer = await self._call("POST", f"{self.queue_url}/{model}", self._input(request))
        handle: dict[str, Any] = {
            "request_id": answer.get("request_id"),
            **{key: answer.get(key) for key in HANDLE_URLS},
            "submitted_at": submitted_at,
            "model": model,
        }
        if not isinstance(handle["request_id"], str):
            raise ProviderError("fal's submit answer has no request_id")
        for key in HANDLE_URLS:
            self._api_url(handle, key)
        return handle

    async def fetch(self, handle: dict[str, Any]) -> MediaResult:
        deadline = time.monotonic() + self.timeout_s
        delay = self.poll_interval_s
        while True:
            status = await self._call("GET", self._api_url(handle, "status_url"))
            state = status.get("status")
            if state == "COMPLETED":
                if status.get("error"):
                    error = safe_text(str(status["error"]), [self._api_key])
                    raise ProviderError(f"fal could not generate the media: {error}")
                break
            if state not in ("IN_QUEUE", "IN_PROGRESS"):
                raise ProviderError(f"fal reported an unknown status {str(state)[:40]!r}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                await self._cancel_quietly(handle)
                raise ProviderError(f"timed out after {self.timeout_s:g}s at fal")
            # Waiting for the queue, not retrying: the request was paid for once, at submit.
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 2, self.max_poll_interval_s)
        result = await self._call("GET", self._api_url(handle, "response_url"))
        url, units = _media_url(result)
        data, content_type = await download_media(
            self._client, url, allowed_hosts=self.media_hosts, max_bytes=self.max_bytes
        )
        model = str(handle["model"])
        price = self.prices.get(model)
        return MediaResult(
            data=data,
            extension=_extension(content_type),
            content_type=content_type,
            provider=self.name,
            model=model,
            cost_usd=None if price is None else price * units,
            latency_s=time.time() - float(handle["submitted_at"]),
        )

    async def cancel(self, handle: dict[str, Any]) -> None:
        url = self._api_url(handle, "cancel_url")
        try:
            response = await self._client.put(
                url, headers=self._headers(), timeout=self.request_timeout_s
            )
        except httpx.HTTPError as exc:
            raise provider_error(self.name, exc, secrets=[self._api_key]) from exc
        if response.status_code == 400 and "ALREADY_COMPLETED" in response.text:
            return  # nothing left to cancel
        if response.status_code >= 300:
            raise provider_error(self.name, response, secrets=[self._api_key])

    def _model_for(self, request: MediaRequest) -> str:
        if request.kind == "image":
            return self.model
        if request.kind == "video":
            if not self.video_model:
                raise StepSkipped("no fal video model is configured")
            return self.video_model
        raise ProviderError(f"fal cannot make {request.kind!r} media")

    def _input(self, request: MediaRequest) -> dict[str, Any]:
        fields: dict[str, Any] = {"prompt": request.prompt, "aspect_ratio": request.aspect_ratio}
        if request.kind == "image":
            fields |= {
                "num_images": 1,
                "output_format": self.output_format,
                "safety_tolerance": self.safety_tolerance,
            }
        return fields | request.extra

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Key {self._api_key}"}

    def _api_url(self, handle: dict[str, Any], key: str) -> str:
        # The key goes with every queue call, so a URL pointing anywhere else is refused.
        url = handle.get(key)
        if not isinstance(url, str) or _origin(httpx.URL(url)) != self._origin:
            raise ProviderError(f"fal handle has no usable {key} on {self.queue_url}")
        return url

    async def _call(self, method: str, url: str, body: Any = None) -> dict[str, Any]:
        try:
            response = await self._client.request(
                method, url, json=body, headers=self._headers(), timeout=self.request_timeout_s
            )
        except httpx.HTTPError as exc:
            raise provider_error(self.name, exc, secrets=[self._api_key]) from exc
        if response.status_code >= 300:
            raise provider_error(self.name, response, secrets=[self._api_key])
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise ProviderError(f"fal answered {method} with something that is not a JSON object")
        return answer

    async def _cancel_quietly(self, handle: dict[str, Any]) -> None:
        with contextlib.suppress(ProviderError):  # the timeout is the error worth reporting
            await self.cancel(handle)


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


def _media_url(result: dict[str, Any]) -> tuple[str, int]:
    """The media URL and how many outputs fal billed for."""
    if any(result.get("has_nsfw_concepts") or []):
        raise ProviderError("fal's safety checker blocked the image; try a different prompt")
    images = result.get("images")
    if isinstance(images, list) and images and isinstance(images[0], dict):
        url = images[0].get("url")
        if isinstance(url, str):
            return url, len(images)
    video = result.get("video")
    if isinstance(video, dict) and isinstance(video.get("url"), str):
        return str(video["url"]), 1
    raise ProviderError("fal's result has neither images[0].url nor video.url")


def _extension(content_type: str) -> str:
    guessed = mimetypes.guess_extension(content_type)
    return EXTENSIONS.get(content_type) or (guessed.lstrip(".") if guessed else "bin")
