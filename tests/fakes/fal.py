"""A local fake of fal's queue API and a plain media host, served on 127.0.0.1 by aiohttp.

`FakeFal` answers submit, status, result and cancel in fal's documented shapes, records every
request, and serves the files it "generated" itself, so tests allowlist 127.0.0.1:PORT;
`FakeMediaHost` serves whatever bytes and Content-Type a test gives it (download checks).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.provider_models import FalPricingMixin
from tests.fakes.providers import MP4, PNG, FakeServer


@dataclass
class FalJob:
    request_id: str
    model: str
    app: str  # "owner/app": where fal puts status, result and cancel URLs
    input: dict[str, Any]
    polls: int = 0
    completed: bool = False
    cancelled: bool = False


@dataclass
class FalOptions:
    polls_in_queue: int = 1
    polls_in_progress: int = 1
    error_on_completion: str | None = None
    nsfw: bool = False
    image_bytes: bytes = PNG
    image_type: str = "image/png"
    video_bytes: bytes = MP4
    video_type: str = "video/mp4"
    video_models: set[str] = field(default_factory=set)  # besides any model with "video" in it


class FakeFal(FalPricingMixin, FakeServer):
    """fal's queue API: POST /{model}; status, result and cancel under /{owner}/{app}/requests/{id};
    the generated files under /files/ on the same server, so tests allowlist 127.0.0.1:PORT."""

    def __init__(self, *, api_key: str = "fal-test-key", **options: Any) -> None:
        super().__init__()
        self.api_key = api_key
        self.options = FalOptions(**options)
        self.jobs: dict[str, FalJob] = {}
        self.submissions: Counter[str] = Counter()
        self.status_polls: list[str] = []
        self.cancelled: list[str] = []
        # Cleared, new submissions wait at the door: not accepted, not counted, not paid.
        self.accepting = asyncio.Event()
        self.accepting.set()
        self._ids = itertools.count(1)

    @property
    def media_host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def routes(self, app: web.Application) -> None:
        requests = "/{owner}/{app}/requests/{request_id}"
        app.router.add_get(f"{requests}/status", self._status)
        app.router.add_get(requests, self._result)
        app.router.add_put(f"{requests}/cancel", self._cancel)
        app.router.add_get("/files/{name}", self._file)
        app.router.add_get("/v1/models/pricing", self._pricing)  # the Platform API
        app.router.add_post("/{model:.+}", self._submit)

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        return {"detail": message}

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Key {self.api_key}"

    def _job(self, request: web.Request) -> FalJob | None:
        job = self.jobs.get(request.match_info["request_id"])
        app = f"{request.match_info['owner']}/{request.match_info['app']}"
        return job if job is not None and job.app == app else None

    def _urls(self, job: FalJob) -> dict[str, str]:
        base = f"{self.url}/{job.app}/requests/{job.request_id}"
        return {
            "response_url": base,
            "status_url": f"{base}/status",
            "cancel_url": f"{base}/cancel",
        }

    async def _submit(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self.error(401, "No user found for Key ID and Secret")
        model = request.match_info["model"]
        body = await request.json()
        if not isinstance(body, dict) or not body.get("prompt"):
            return self.error(422, "prompt: field required")
        if not self.accepting.is_set():
            await self.accepting.wait()
            if request.transport is None or request.transport.is_closing():
                return web.Response(status=499)  # the caller hung up while it waited
        job = FalJob(f"req-{next(self._ids):04d}", model, "/".join(model.split("/")[:2]), body)
        self.jobs[job.request_id] = job
        self.submissions[model] += 1
        return web.json_response(
            {"request_id": job.request_id, **self._urls(job), "queue_position": 0}
        )

    async def _status(self, request: web.Request) -> web.Response:
        job = self._job(request)
        if job is None or not self._authorized(request):
            return self.error(404, "Request not found")
        self.status_polls.append(request.path)
        options = self.options
        step = job.polls
        job.polls += 1
        base = {"request_id": job.request_id, "response_url": self._urls(job)["response_url"]}
        if step < options.polls_in_queue:
            position = options.polls_in_queue - step - 1
            return web.json_response(
                {**base, "status": "IN_QUEUE", "queue_position": position}, status=202
            )
        if step < options.polls_in_queue + options.polls_in_progress:
            logs = [{"message": f"step {step}", "level": "INFO", "timestamp": time.time()}]
            return web.json_response({**base, "status": "IN_PROGRESS", "logs": logs}, status=202)
        job.completed = True
        answer: dict[str, Any] = {**base, "status": "COMPLETED", "logs": []}
        if options.error_on_completion:
            answer |= {"error": options.error_on_completion, "error_type": "generation_error"}
        return web.json_response(answer)

    async def _result(self, request: web.Request) -> web.Response:
        job = self._job(request)
        if job is None or not self._authorized(request):
            return self.error(404, "Request not found")
        if not job.completed:
            return self.error(400, "Request is still in progress")
        if self.options.error_on_completion:
            return self.error(422, self.options.error_on_completion)
        if self._is_video(job.model):
            video_type = self.options.video_type
            url = f"{self.url}/files/{job.request_id}.video"
            return web.json_response({"video": {"url": url, "content_type": video_type}})
        extension = self.options.image_type.split("/")[-1]
        image = {
            "url": f"{self.url}/files/{job.request_id}.{extension}",
            "width": 1,
            "height": 1,
            "content_type": self.options.image_type,
        }
        return web.json_response(
            {
                "images": [image],
                "has_nsfw_concepts": [self.options.nsfw],
                "seed": 42,
                "prompt": job.input.get("prompt"),
            }
        )

    async def _cancel(self, request: web.Request) -> web.Response:
        job = self._job(request)
        if job is None or not self._authorized(request):
            return self.error(404, "Request not found")
        if job.completed:
            return web.json_response({"status": "ALREADY_COMPLETED"}, status=400)
        job.cancelled = True
        self.cancelled.append(job.request_id)
        return web.json_response({"status": "CANCELLATION_REQUESTED"}, status=202)

    async def _file(self, request: web.Request) -> web.Response:
        request_id, _, extension = request.match_info["name"].partition(".")
        job = self.jobs.get(request_id)
        if job is None or not job.completed:
            return web.Response(status=404)
        if extension == "video":
            return web.Response(body=self.options.video_bytes, content_type=self.options.video_type)
        return web.Response(body=self.options.image_bytes, content_type=self.options.image_type)

    def _is_video(self, model: str) -> bool:
        return "video" in model or model in self.options.video_models


class FakeMediaHost(FakeServer):
    """Serves files and redirects, for download tests."""

    def __init__(self) -> None:
        super().__init__()
        self.files: dict[str, tuple[bytes, str, bool]] = {}
        self.redirects: dict[str, tuple[str, int]] = {}

    def add(
        self, path: str, body: bytes, content_type: str = "image/png", *, chunked: bool = False
    ) -> str:
        """Serve `body` at `path`; chunked sends no Content-Length. Returns the full URL."""
        self.files[path] = (body, content_type, chunked)
        return f"{self.url}{path}"

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        self.redirects[path] = (location, status)
        return f"{self.url}{path}"

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/{path:.*}", self._get)

    async def _get(self, request: web.Request) -> web.StreamResponse:
        if request.path in self.redirects:
            location, status = self.redirects[request.path]
            return web.Response(status=status, headers={"Location": location})
        if request.path not in self.files:
            return web.Response(status=404, text="not found")
        body, content_type, chunked = self.files[request.path]
        if not chunked:
            return web.Response(body=body, headers={"Content-Type": content_type})
        response = web.StreamResponse(headers={"Content-Type": content_type})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(body), 64 * 1024):
            await response.write(body[start : start + 64 * 1024])
        await response.write_eof()
        return response
