"""Local fakes of the text providers' HTTP APIs (OpenAI-compatible, Anthropic), served on
127.0.0.1 by aiohttp, and the server they share with fal's fake (`tests/fakes/fal.py`).

They answer in the providers' documented shapes (see /work/shared/reference/platforms.md), record
every request, and can be scripted to be slow, fail or hang:

    async with FakeOpenAI(api_key="sk-test") as fake:
        fake.reply(Reply('{"title": "x"}', cost=0.01))
        fake.fail(429, times=2, retry_after="3")
        provider = OpenAICompatibleText(model="gpt-test", base_url=fake.base_url, api_key="sk-test")

When no scripted reply is queued, `reply_fn(call)` answers; it receives a `ChatCall` (system text,
user text, the data and schema the provider sent) and returns the content string or a `Reply`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import struct
import time
import zlib
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.local_server import LocalServer
from tests.fakes.provider_models import AnthropicModelsMixin, OpenAIModelsMixin

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
FENCED_JSON = re.compile(r"```json\n(.*?)\n```", re.DOTALL)


def tiny_png() -> bytes:
    """A valid 1x1 white PNG, so code that inspects images gets a real one."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


PNG = tiny_png()
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64
# An EBML header (version 1, DocType "webm") followed by the start of a Segment.
WEBM = (
    b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08"
    b"\x42\x82\x84webm\x42\x87\x81\x02\x42\x85\x81\x02"
    b"\x18\x53\x80\x67\x01\xff\xff\xff\xff\xff\xff\xff"
)


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names lowercased
    body: Any  # parsed JSON, raw text, or None


@dataclass
class Reply:
    """One scripted chat answer."""

    content: str
    finish_reason: str | None = None  # None: the API's normal stop ("stop" / "end_turn")
    usage: bool = True
    prompt_tokens: int = 100
    completion_tokens: int = 50
    cost: float | None = None  # OpenRouter's usage.cost
    delay_s: float = 0.0


@dataclass
class Failure:
    status: int
    message: str = "fake failure"
    retry_after: str | None = None


@dataclass
class ChatCall:
    """What a chat request asked, in the terms a reply function needs."""

    body: dict[str, Any]
    system: str
    user: str

    @property
    def data(self) -> Any:
        """The JSON data block of the user message, or None."""
        return _fenced_json(self.user)

    @property
    def schema(self) -> Any:
        """The JSON schema the system message asks for, or None."""
        return _fenced_json(self.system)

    @property
    def schema_title(self) -> str | None:
        schema = self.schema
        return schema.get("title") if isinstance(schema, dict) else None


def _fenced_json(text: str) -> Any:
    match = FENCED_JSON.search(text)
    return json.loads(match.group(1)) if match else None


ReplyFn = Callable[[ChatCall], "str | Reply"]


def default_reply(call: ChatCall) -> str:
    return "{}"


class FakeServer(LocalServer):
    """The shared part: start/stop on a free port, recording, scripted failures, delay, hang."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.delay_s = 0.0
        self.hang = False
        self.failures: deque[Failure] = deque()
        self._release = asyncio.Event()

    def fail(
        self, status: int, *, times: int = 1, retry_after: str | None = None, message: str = ""
    ) -> None:
        """Answer the next `times` requests with this status (and Retry-After, if given)."""
        failure = Failure(status, message or f"fake {status}", retry_after)
        self.failures.extend([failure] * times)

    def application(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        self.routes(app)
        self._release = asyncio.Event()
        return app

    def release_held(self) -> None:
        self._release.set()

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        return {"error": {"message": message}}

    def error(
        self, status: int, message: str, headers: dict[str, str] | None = None
    ) -> web.Response:
        return web.json_response(self.error_body(status, message), status=status, headers=headers)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        raw = await request.text()
        try:
            body: Any = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            body = raw
        self.requests.append(
            Recorded(
                request.method,
                request.path,
                dict(request.query),
                {name.lower(): value for name, value in request.headers.items()},
                body,
            )
        )
        if self.hang:
            await self._release.wait()
            return web.Response(status=503)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.failures:
            failure = self.failures.popleft()
            headers = {"Retry-After": failure.retry_after} if failure.retry_after else None
            return self.error(failure.status, failure.message, headers)
        return await handler(request)


class _FakeChat(FakeServer):
    def __init__(self, *, api_key: str | None, reply_fn: ReplyFn | None) -> None:
        super().__init__()
        self.api_key = api_key
        self.reply_fn: ReplyFn = reply_fn or default_reply
        self.replies: deque[str | Reply] = deque()
        self.calls: list[ChatCall] = []
        self.completed = 0
        self._ids = itertools.count(1)

    def reply(self, *replies: str | Reply) -> None:
        """Queue answers for the next calls; after them, `reply_fn` answers."""
        self.replies.extend(replies)

    async def _next_reply(self, call: ChatCall) -> Reply:
        self.calls.append(call)
        answer = self.replies.popleft() if self.replies else self.reply_fn(call)
        reply = answer if isinstance(answer, Reply) else Reply(answer)
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        self.completed += 1
        return reply


# OpenAI's reasoning models, which refuse `max_tokens` and any temperature but 1.
REASONING_MODELS = re.compile(r"(?:o1|o3|o4|gpt-5)")


class FakeOpenAI(OpenAIModelsMixin, _FakeChat):
    """POST /v1/chat/completions; use `base_url` (ends in /v1) as the provider's base URL.

    Models named like OpenAI's reasoning models get the real API's 400s for `max_tokens` and for
    a temperature other than 1.
    """

    def __init__(self, *, api_key: str | None = None, reply_fn: ReplyFn | None = None) -> None:
        super().__init__(api_key=api_key, reply_fn=reply_fn)

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._list_models)

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        kind = {401: "invalid_request_error", 429: "rate_limit_exceeded"}.get(status, "api_error")
        return {"error": {"message": message, "type": kind, "param": None, "code": None}}

    async def _chat(self, request: web.Request) -> web.Response:
        if self.api_key is not None:
            presented = request.headers.get("Authorization", "")
            if presented != f"Bearer {self.api_key}":
                # Echo what was sent, as real servers partly do, to prove providers redact it.
                return self.error(401, f"Incorrect API key provided: {presented}")
        body = await request.json()
        messages = body.get("messages") if isinstance(body, dict) else None
        if not isinstance(body.get("model"), str) or not isinstance(messages, list):
            return self.error(400, "'model' and 'messages' are required")
        response_format = body.get("response_format")
        if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
            schema = response_format.get("json_schema") or {}
            if not re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", str(schema.get("name"))):
                return self.error(400, "Invalid 'response_format.json_schema.name'")
        if REASONING_MODELS.match(body["model"]):
            refused = self._reasoning_refusal(body)
            if refused is not None:
                return refused
        system = next((m["content"] for m in messages if m.get("role") == "system"), "")
        user = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
        reply = await self._next_reply(ChatCall(body, system, user))
        answer: dict[str, Any] = {
            "id": f"chatcmpl-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.content},
                    "finish_reason": reply.finish_reason or "stop",
                }
            ],
        }
        if reply.usage:
            usage: dict[str, Any] = {
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens,
                "total_tokens": reply.prompt_tokens + reply.completion_tokens,
            }
            if reply.cost is not None:
                usage["cost"] = reply.cost
            answer["usage"] = usage
        return web.json_response(answer)

    def _reasoning_refusal(self, body: dict[str, Any]) -> web.Response | None:
        if "max_tokens" in body:
            return self._invalid(
                "max_tokens",
                "unsupported_parameter",
                "Unsupported parameter: 'max_tokens' is not supported with this model. "
                "Use 'max_completion_tokens' instead.",
            )
        temperature = body.get("temperature")
        if temperature is not None and temperature != 1:
            return self._invalid(
                "temperature",
                "unsupported_value",
                f"Unsupported value: 'temperature' does not support {temperature} with this "
                "model. Only the default (1) value is supported.",
            )
        return None

    def _invalid(self, param: str, code: str, message: str) -> web.Response:
        error = {"message": message, "type": "invalid_request_error", "param": param, "code": code}
        return web.json_response({"error": error}, status=400)


class FakeAnthropic(AnthropicModelsMixin, _FakeChat):
    """POST /v1/messages; use `base_url` (the bare origin) as the provider's base URL."""

    def __init__(self, *, api_key: str = "sk-ant-test", reply_fn: ReplyFn | None = None) -> None:
        super().__init__(api_key=api_key, reply_fn=reply_fn)

    @property
    def base_url(self) -> str:
        return self.url

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/messages", self._messages)
        app.router.add_get("/v1/models", self._list_models)
        app.router.add_get("/v1/models/{model_id}", self._get_model)

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        kind = {
            400: "invalid_request_error",
            401: "authentication_error",
            429: "rate_limit_error",
            529: "overloaded_error",
        }.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}}

    async def _messages(self, request: web.Request) -> web.Response:
        if request.headers.get("x-api-key") != self.api_key:
            return self.error(401, "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            return self.error(400, "anthropic-version: header is required")
        body = await request.json()
        if not isinstance(body, dict) or not isinstance(body.get("max_tokens"), int):
            return self.error(400, "max_tokens: Field required")
        messages = body.get("messages")
        if not isinstance(body.get("model"), str) or not isinstance(messages, list) or not messages:
            return self.error(400, "model and messages: Field required")
        content = messages[-1].get("content", "")
        if isinstance(content, list):
            content = "".join(block.get("text", "") for block in content)
        reply = await self._next_reply(ChatCall(body, str(body.get("system", "")), content))
        answer: dict[str, Any] = {
            "id": f"msg_{next(self._ids):024d}",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [{"type": "text", "text": reply.content}],
            "stop_reason": reply.finish_reason or "end_turn",
            "stop_sequence": None,
        }
        if reply.usage:
            answer["usage"] = {
                "input_tokens": reply.prompt_tokens,
                "output_tokens": reply.completion_tokens,
            }
        return web.json_response(answer)
