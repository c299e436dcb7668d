"""A fake Slack for tests: a real aiohttp server on 127.0.0.1 that stands in for slack.com.

What it fakes
- The Web API under `api_url` (`http://127.0.0.1:PORT/api/`, usable as `AsyncWebClient(base_url=)`):
  auth.test, chat.postMessage/update/delete/postEphemeral/getPermalink, reactions.add/remove,
  files.getUploadURLExternal + the upload URL + files.completeUploadExternal (what
  `files_upload_v2` does), conversations.history/replies and apps.connections.open. Parameters are
  read from the query string, form, multipart or JSON bodies; the token from `Authorization:
  Bearer` or a `token` field. Errors use Slack's names (`invalid_auth`, `channel_not_found`,
  `not_in_channel`, `message_not_found`, `already_reacted`, `invalid_blocks`,
  `msg_blocks_too_long`, `unknown_method`, ...) and Block Kit limits are enforced.
- Faults on request: `fail_next(method, status=429, retry_after=1, times=N)` and `delay_next(...)`.
- Sending to the bot in HTTP mode, signed like Slack: `send_event`, `send_command`,
  `send_interactive`; `response_url`s in payloads point back here and are recorded.
- Socket Mode (see `tests.fakes.slack_socket`): `apps.connections.open` hands out a ws:// URL;
  `push_envelope`, `wait_ack`, `acked_envelopes`, `disconnect_sockets`.

Everything is recorded: `calls`, `messages()`, `ephemerals`, `uploaded_files`, `reactions_on()`,
`response_url_posts`, `deliveries`. Time stamps in records are `time.monotonic()`.
Close Socket Mode clients before `stop()`, or they will keep trying to reconnect.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import mimetypes
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.slack_socket import Delivery, SlackToBot, SocketModeHub

MAX_BLOCKS = 50
MAX_BLOCKS_JSON = 13_000  # measured on json.dumps(blocks), the form slack_sdk sends
MAX_TEXT = 40_000
LIMITS = {"section": 3000, "header": 150, "field": 2000, "fields": 10, "context": 10, "actions": 25}
BLOCK_TYPES = {
    *("actions", "call", "context", "divider", "file", "header", "image", "input"),
    *("markdown", "rich_text", "section", "table", "video"),
}
_DEFAULT_ERRORS = {429: "ratelimited", 500: "internal_error", 503: "service_unavailable"}


class ApiError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error, self.extra = error, extra


@dataclass
class Call:
    """One request that reached the fake (Web API method, `upload_url` or `response_url`)."""

    method: str
    params: dict[str, Any]
    time: float  # time.monotonic() at arrival
    token: str | None = None
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)
    retry_after: float | None = None  # the Retry-After header sent with this answer

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))

    @property
    def error(self) -> str | None:
        return self.response.get("error")


@dataclass
class FakeMessage:
    """Current state of a message in a channel (edits applied)."""

    channel: str
    ts: str
    user: str
    text: str = ""
    blocks: list[dict[str, Any]] | None = None
    attachments: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    metadata: dict[str, Any] | None = None
    files: list[dict[str, Any]] | None = None
    bot_id: str | None = None
    reactions: dict[str, list[str]] = field(default_factory=dict)  # name -> users, in order
    missing_fallback: bool = False  # blocks without top-level text (Slack warns)
    truncated: bool = False  # text was cut to 40,000 characters
    edits: int = 0
    edited_ts: str | None = None
    deleted: bool = False
    ephemeral_user: str | None = None

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts


@dataclass
class UploadedFile:
    id: str
    filename: str
    length: int  # as declared to files.getUploadURLExternal
    upload_url: str
    alt_txt: str | None = None
    data: bytes | None = None  # None until the bytes were POSTed to upload_url
    title: str | None = None
    completed: bool = False
    channels: list[str] = field(default_factory=list)
    thread_ts: str | None = None
    initial_comment: str | None = None


@dataclass
class ResponseUrlPost:
    response_id: str
    body: dict[str, Any]
    time: float


@dataclass
class _Fault:
    status: int
    retry_after: int | None
    error: str | None
    body: str | None
    times: int


def _truthy(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


def _form_value(value: str | bytes | bytearray | web.FileField) -> Any:
    if isinstance(value, web.FileField):
        return value.file.read()
    return value if isinstance(value, str) else bytes(value)


def _text_len(obj: Any) -> int:
    return len(obj.get("text", "")) if isinstance(obj, dict) else 0


def block_errors(blocks: Any) -> list[str]:
    """Slack's `invalid_blocks` checks (a practical subset); returns the error strings."""
    if not isinstance(blocks, list):
        return ["must be an array [json-pointer:/blocks]"]
    errors: list[str] = []
    if len(blocks) > MAX_BLOCKS:
        errors.append(f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]")
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        at = f"[json-pointer:/blocks/{i}"
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in BLOCK_TYPES:
            errors.append(f"unsupported type {at}/type]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in block_ids:
                errors.append(f"duplicate block_id {at}/block_id]")
            block_ids.add(block_id)
        if kind == "section":
            text, fields = block.get("text"), block.get("fields")
            if text is None and not fields:
                errors.append(f"must provide either text or fields {at}]")
            if _text_len(text) > LIMITS["section"]:
                errors.append(f"must be less than 3001 characters {at}/text/text]")
            if fields is not None and len(fields) > LIMITS["fields"]:
                errors.append(f"no more than 10 items allowed {at}/fields]")
            for j, f in enumerate(fields or []):
                if _text_len(f) > LIMITS["field"]:
                    errors.append(f"must be less than 2001 characters {at}/fields/{j}/text]")
        elif kind == "header":
            text = block.get("text")
            if not isinstance(text, dict) or text.get("type") != "plain_text":
                errors.append(f"must be a plain_text text object {at}/text]")
            elif _text_len(text) > LIMITS["header"]:
                errors.append(f"must be less than 151 characters {at}/text/text]")
        elif kind == "image":
            if not block.get("alt_text"):
                errors.append(f"missing required field: alt_text {at}]")
            if not block.get("image_url") and not block.get("slack_file"):
                errors.append(f"must provide either image_url or slack_file {at}]")
        elif kind in ("context", "actions"):
            elements = block.get("elements") or []
            if not elements or len(elements) > LIMITS[kind]:
                errors.append(f"must have 1 to {LIMITS[kind]} elements {at}/elements]")
    return errors


class FakeSlack(SlackToBot):
    """The fake; see the module docstring. Use `async with FakeSlack() as slack:`."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-fake-bot-token",
        app_token: str = "xapp-1-A0APP-fake-app-token",
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
        team_id: str = "T0001",
        app_id: str = "A0APP",
        strict_channels: bool = False,
        ts_base: int = 1_700_000_000,
    ) -> None:
        self.bot_token, self.app_token = bot_token, app_token
        self.bot_user_id, self.bot_id = bot_user_id, bot_id
        self.team_id, self.app_id = team_id, app_id
        self.verification_token = "fake-verification-token"
        self.strict_channels = strict_channels  # False: any id starting with C, G or D exists
        self.port = 0
        self.calls: list[Call] = []
        self.ephemerals: list[FakeMessage] = []
        self.uploaded_files: list[UploadedFile] = []
        self.response_url_posts: list[ResponseUrlPost] = []
        self.deliveries: list[Delivery] = []
        self.socket = SocketModeHub(app_id)
        self._channels: dict[str, dict[str, Any]] = {}  # id -> {"name", "member"}
        self._messages: dict[tuple[str, str], FakeMessage] = {}
        self._faults: dict[str, list[_Fault]] = {}
        self._delays: dict[str, list[float]] = {}
        self._uploads: dict[str, UploadedFile] = {}  # upload key -> file
        self._response_ids: set[str] = set()
        self._ts = ts_base * 1_000_000
        self._counter = 0
        self._runner: web.AppRunner | None = None
        self._methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.delete": self._delete,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.getPermalink": self._permalink,
            "reactions.add": self._reactions_add,
            "reactions.remove": self._reactions_remove,
            "files.getUploadURLExternal": self._get_upload_url,
            "files.completeUploadExternal": self._complete_upload,
            "conversations.history": self._history,
            "conversations.replies": self._replies,
            "apps.connections.open": self._connections_open,
        }

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> FakeSlack:
        app = web.Application(client_max_size=1024**3)
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/upload/v1/{key}", self._handle_upload)
        app.router.add_post("/response/{rid}", self._handle_response_url)
        app.router.add_get("/files/{file_id}/{name}", self._handle_download)
        app.router.add_get("/socket", self.socket.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        await self.socket.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    # ------------------------------------------------------------------ test controls

    def create_channel(self, channel: str, name: str | None = None, *, member: bool = True) -> None:
        """Declare a channel; `member=False` makes channel methods answer `not_in_channel`."""
        self._channels[channel] = {"name": name or channel.lower(), "member": member}

    def fail_next(
        self,
        method: str,
        status: int = 429,
        *,
        retry_after: int | None = 1,
        times: int = 1,
        error: str | None = None,
        body: str | None = None,
    ) -> None:
        """The next `times` calls of `method` fail with HTTP `status` (429 gets `Retry-After`).

        `method` is a Web API method name, or "upload_url" / "response_url". status=200 with
        `error` gives a plain `{"ok": false, "error": error}`; `body` replaces the JSON body.
        """
        fault = _Fault(status, retry_after if status == 429 else None, error, body, times)
        self._faults.setdefault(method, []).append(fault)

    def delay_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Answer the next `times` calls of `method` only after `seconds`."""
        self._delays.setdefault(method, []).extend([seconds] * times)

    # ------------------------------------------------------------------ recorded state

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def early_retries(self, method: str | None = None) -> list[Call]:
        """Calls that came sooner after a 429 of the same method than its Retry-After allowed."""
        early: list[Call] = []
        for name in {c.method for c in self.calls} if method is None else {method}:
            calls = self.calls_of(name)
            for prev, nxt in itertools.pairwise(calls):
                if prev.retry_after is not None and nxt.time - prev.time < prev.retry_after:
                    early.append(nxt)
        return early

    def messages(
        self,
        channel: str | None = None,
        thread_ts: str | None = None,
        *,
        user: str | None = None,
        include_deleted: bool = False,
    ) -> list[FakeMessage]:
        """Messages in ts order. `thread_ts` selects the replies of that thread (not the parent);
        `user=slack.bot_user_id` keeps only the bot's own."""
        found = [
            m
            for m in self._messages.values()
            if (channel is None or m.channel == channel)
            and (thread_ts is None or (m.thread_ts == thread_ts and m.ts != thread_ts))
            and (user is None or m.user == user)
            and (include_deleted or not m.deleted)
        ]
        return sorted(found, key=lambda m: float(m.ts))

    def message(self, channel: str, ts: str) -> FakeMessage | None:
        return self._messages.get((channel, ts))

    def reactions_on(self, channel: str, ts: str) -> dict[str, list[str]]:
        msg = self._messages.get((channel, ts))
        return {} if msg is None else {k: list(v) for k, v in msg.reactions.items()}

    def responses_to(self, response_url: str) -> list[dict[str, Any]]:
        rid = response_url.rstrip("/").rsplit("/", 1)[-1]
        return [p.body for p in self.response_url_posts if p.response_id == rid]

    # ------------------------------------------------------------------ HTTP handlers

    async def _begin(self, method: str, params: dict[str, Any], token: str | None) -> Call:
        call = Call(method, params, time.monotonic(), token)
        self.calls.append(call)
        delays = self._delays.get(method)
        if delays:
            await asyncio.sleep(delays.pop(0))
        return call

    def _fault(self, call: Call) -> web.Response | None:
        faults = self._faults.get(call.method)
        if not faults:
            return None
        fault = faults[0]
        fault.times -= 1
        if fault.times <= 0:
            faults.pop(0)
        call.status = fault.status
        call.response = {"ok": False, "error": fault.error or _DEFAULT_ERRORS.get(fault.status)}
        headers = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
            call.retry_after = fault.retry_after
        if fault.body is not None:
            return web.Response(status=fault.status, text=fault.body, headers=headers)
        return web.json_response(call.response, status=fault.status, headers=headers)

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = dict(request.query)
        invalid_json = False
        if request.can_read_body:
            if request.content_type == "application/json":
                body: Any = None
                with contextlib.suppress(ValueError):
                    body = json.loads(await request.text())
                invalid_json = not isinstance(body, dict)
                params.update(body if isinstance(body, dict) else {})
            else:
                for key, value in (await request.post()).items():
                    params[key] = _form_value(value)
        for key in ("blocks", "attachments", "metadata", "files"):
            if isinstance(params.get(key), str):
                # Left as a string if it is not JSON; the method reports the format error.
                with contextlib.suppress(ValueError):
                    params[key] = json.loads(params[key])
        auth = request.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else params.pop("token", None)
        params.pop("token", None)
        call = await self._begin(method, params, token)
        faulty = self._fault(call)
        if faulty is not None:
            return faulty
        try:
            handler = self._methods.get(method)
            if handler is None:
                raise ApiError("unknown_method", req_method=method)
            if invalid_json:
                raise ApiError("invalid_json")
            self._check_token(method, token)
            call.response = {"ok": True, **handler(params)}
        except ApiError as e:
            call.response = {"ok": False, "error": e.error, **e.extra}
        return web.json_response(call.response)

    def _check_token(self, method: str, token: str | None) -> None:
        if not token:
            raise ApiError("not_authed")
        if method == "apps.connections.open":
            if token.startswith("xapp-"):
                if token != self.app_token:
                    raise ApiError("invalid_auth")
                return
            raise ApiError("not_allowed_token_type")
        if token == self.app_token:
            raise ApiError("not_allowed_token_type")
        if token != self.bot_token:
            raise ApiError("invalid_auth")

    async def _handle_upload(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            parts = [_form_value(v) for v in form.values() if isinstance(v, web.FileField)]
            data: bytes = parts[0] if parts else b""
        else:
            data = await request.read()
        call = await self._begin("upload_url", {"key": key, "size": len(data)}, None)
        faulty = self._fault(call)
        if faulty is not None:
            return faulty
        upload = self._uploads.get(key)
        if upload is None:
            call.status = 404
            return web.Response(status=404, text="upload_not_found")
        upload.data = data
        call.response = {"ok": True}
        return web.Response(text=f"OK - {len(data)}")

    async def _handle_download(self, request: web.Request) -> web.Response:
        """`url_private` of an uploaded file; needs the bot token, like Slack."""
        upload = next(
            (f for f in self.uploaded_files if f.id == request.match_info["file_id"]), None
        )
        if request.headers.get("Authorization") != f"Bearer {self.bot_token}":
            return web.Response(status=403, text="forbidden")
        if upload is None or upload.data is None:
            return web.Response(status=404, text="file_not_found")
        return web.Response(body=upload.data, content_type=self._file_info(upload)["mimetype"])

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        rid = request.match_info["rid"]
        if request.content_type == "application/json":
            body = await request.json()
        else:
            body = json.loads(str((await request.post()).get("payload", "{}")))
        call = await self._begin("response_url", {"response_id": rid, **body}, None)
        faulty = self._fault(call)
        if faulty is not None:
            return faulty
        used = sum(1 for p in self.response_url_posts if p.response_id == rid)
        if rid not in self._response_ids or used >= 5:  # 5 uses within 30 minutes
            call.status = 404
            return web.Response(status=404, text="used_url" if used else "expired_url")
        self.response_url_posts.append(ResponseUrlPost(rid, body, call.time))
        call.response = {"ok": True}
        return web.Response(text="ok")

    # ------------------------------------------------------------------ Web API methods

    def _channel(self, params: dict[str, Any], key: str = "channel") -> str:
        cid = str(params.get(key) or "")
        if cid.startswith("#"):
            cid = next((c for c, v in self._channels.items() if v["name"] == cid[1:]), cid)
        if cid not in self._channels:
            if self.strict_channels or cid[:1] not in ("C", "G", "D"):
                raise ApiError("channel_not_found")
            self.create_channel(cid)
        if not self._channels[cid]["member"]:
            raise ApiError("not_in_channel")
        return cid

    def _find(self, channel: str, ts: Any) -> FakeMessage:
        msg = self._messages.get((channel, str(ts)))
        if msg is None or msg.deleted:
            raise ApiError("message_not_found")
        return msg

    def _store(self, msg: FakeMessage) -> None:
        self._messages[(msg.channel, msg.ts)] = msg

    def _record_user_message(
        self, channel: str, ts: str, user: str, text: str, thread_ts: str | None
    ) -> None:
        if (channel, ts) not in self._messages:
            self._store(FakeMessage(channel, ts, user, text, thread_ts=thread_ts))

    def _record_reaction(
        self, added: bool, channel: str, ts: str, user: str, reaction: str
    ) -> None:
        msg = self._messages.get((channel, ts))
        if msg is None:
            return
        users = msg.reactions.setdefault(reaction, [])
        if added and user not in users:
            users.append(user)
        elif not added and user in users:
            users.remove(user)
        if not users:
            del msg.reactions[reaction]

    def _message_json(self, channel: str, ts: str) -> dict[str, Any] | None:
        msg = self._messages.get((channel, ts))
        return None if msg is None or msg.deleted else self._render(msg, metadata=False)

    def _content(self, params: dict[str, Any], *, required: bool = True) -> dict[str, Any]:
        """Validate text/blocks/metadata as Slack does; returns the fields to store."""
        out: dict[str, Any] = {}
        blocks, text = params.get("blocks"), params.get("text")
        if blocks is not None:
            if isinstance(blocks, str):
                raise ApiError("invalid_blocks_format")
            errors = block_errors(blocks)
            if errors:
                messages = [f"[ERROR] {e}" for e in errors]
                raise ApiError(
                    "invalid_blocks", errors=errors, response_metadata={"messages": messages}
                )
            if len(json.dumps(blocks)) > MAX_BLOCKS_JSON:
                raise ApiError("msg_blocks_too_long")
            out["blocks"] = blocks or None
        if "attachments" in params:
            out["attachments"] = params["attachments"]
        if required and not text and not blocks and not params.get("attachments"):
            raise ApiError("no_text")
        if text is not None:
            out["text"] = str(text)[:MAX_TEXT]
            out["truncated"] = len(str(text)) > MAX_TEXT
        if "metadata" in params:
            meta = params["metadata"]
            if not isinstance(meta, dict) or not isinstance(meta.get("event_type"), str):
                raise ApiError("invalid_metadata_format")
            if not isinstance(meta.get("event_payload", {}), dict):
                raise ApiError("invalid_metadata_schema")
            out["metadata"] = meta
        return out

    def _render(self, msg: FakeMessage, *, metadata: bool = True) -> dict[str, Any]:
        """The message as Slack's API returns it."""
        data: dict[str, Any] = {"type": "message", "text": msg.text, "user": msg.user, "ts": msg.ts}
        if msg.bot_id:
            data.update(bot_id=msg.bot_id, app_id=self.app_id, team=self.team_id)
            data["bot_profile"] = {"id": msg.bot_id, "app_id": self.app_id, "name": "draftroom"}
        for key in ("blocks", "attachments", "files", "thread_ts"):
            if getattr(msg, key) is not None:
                data[key] = getattr(msg, key)
        if msg.files:
            data["upload"] = True
        if metadata and msg.metadata is not None:
            data["metadata"] = msg.metadata
        if msg.edited_ts:
            data["edited"] = {"user": msg.user, "ts": msg.edited_ts}
        if msg.is_reply:
            parent = self._messages.get((msg.channel, str(msg.thread_ts)))
            data["parent_user_id"] = parent.user if parent else msg.user
        replies = self.messages(msg.channel, msg.ts) if not msg.is_reply else []
        if replies:
            data.update(thread_ts=msg.ts, reply_count=len(replies), latest_reply=replies[-1].ts)
            data["reply_users"] = list(dict.fromkeys(r.user for r in replies))
        if msg.reactions:
            data["reactions"] = [
                {"name": n, "users": u, "count": len(u)} for n, u in msg.reactions.items()
            ]
        return data

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://fake.slack.com/",
            "team": "Fake Team",
            "user": "draftroom",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _bot_message(self, channel: str, content: dict[str, Any], **kw: Any) -> FakeMessage:
        msg = FakeMessage(channel, self.next_ts(), self.bot_user_id, bot_id=self.bot_id, **kw)
        msg.text = content.get("text") or ""
        msg.truncated = bool(content.get("truncated"))
        msg.blocks, msg.metadata = content.get("blocks"), content.get("metadata")
        msg.attachments = content.get("attachments")
        msg.missing_fallback = bool(msg.blocks) and not msg.text
        return msg

    def _post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        content = self._content(params)
        thread_ts = str(params["thread_ts"]) if params.get("thread_ts") else None
        msg = self._bot_message(channel, content, thread_ts=thread_ts)
        self._store(msg)
        return {"channel": channel, "ts": msg.ts, "message": self._render(msg)}

    def _update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        msg = self._find(channel, params.get("ts"))
        if msg.user != self.bot_user_id:
            raise ApiError("cant_update_message")
        content = self._content(params)
        for key in ("text", "truncated", "blocks", "metadata", "attachments"):
            if key in content:
                setattr(msg, key, content[key])
        msg.missing_fallback = bool(msg.blocks) and not msg.text
        msg.edits, msg.edited_ts = msg.edits + 1, self.next_ts()
        return {"channel": channel, "ts": msg.ts, "text": msg.text, "message": self._render(msg)}

    def _delete(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        msg = self._find(channel, params.get("ts"))
        if msg.user != self.bot_user_id:
            raise ApiError("cant_delete_message")
        msg.deleted = True
        return {"channel": channel, "ts": msg.ts}

    def _post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        if not params.get("user"):
            raise ApiError("user_not_in_channel")
        thread_ts = str(params["thread_ts"]) if params.get("thread_ts") else None
        msg = self._bot_message(
            channel, self._content(params), thread_ts=thread_ts, ephemeral_user=params["user"]
        )
        self.ephemerals.append(msg)
        return {"message_ts": msg.ts}

    def _permalink(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        msg = self._find(channel, params.get("message_ts"))
        link = f"https://fake.slack.com/archives/{channel}/p{msg.ts.replace('.', '')}"
        return {"channel": channel, "permalink": link}

    def _reaction_target(self, params: dict[str, Any]) -> tuple[FakeMessage, str]:
        msg = self._find(self._channel(params), params.get("timestamp"))
        name = str(params.get("name") or "")
        if not name or name.startswith(":") or name.endswith(":"):
            raise ApiError("invalid_name")
        return msg, name

    def _reactions_add(self, params: dict[str, Any]) -> dict[str, Any]:
        msg, name = self._reaction_target(params)
        users = msg.reactions.setdefault(name, [])
        if self.bot_user_id in users:
            raise ApiError("already_reacted")
        users.append(self.bot_user_id)
        return {}

    def _reactions_remove(self, params: dict[str, Any]) -> dict[str, Any]:
        msg, name = self._reaction_target(params)
        if self.bot_user_id not in msg.reactions.get(name, []):
            raise ApiError("no_reaction")
        msg.reactions[name].remove(self.bot_user_id)
        if not msg.reactions[name]:
            del msg.reactions[name]
        return {}

    def _get_upload_url(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("filename") or not str(params.get("length", "")).isdigit():
            raise ApiError("invalid_arguments")
        key = secrets.token_urlsafe(12)
        url = f"{self.base_url}/upload/v1/{key}"
        upload = UploadedFile(
            self._next_id("F"), str(params["filename"]), int(params["length"]), url,
            alt_txt=params.get("alt_txt"),
        )  # fmt: skip
        self._uploads[key] = upload
        self.uploaded_files.append(upload)
        return {"upload_url": url, "file_id": upload.id}

    def _complete_upload(self, params: dict[str, Any]) -> dict[str, Any]:
        items = params.get("files")
        if not isinstance(items, list) or not items:
            raise ApiError("invalid_arguments")
        by_id = {f.id: f for f in self.uploaded_files}
        uploads: list[UploadedFile] = []
        for item in items:
            upload = by_id.get(str(item.get("id")))
            if upload is None or upload.data is None or upload.completed:
                raise ApiError("file_not_found")
            upload.title = item.get("title") or upload.filename
            uploads.append(upload)
        channels = [str(c) for c in str(params.get("channels") or "").split(",") if c]
        if params.get("channel_id"):
            channels.insert(0, str(params["channel_id"]))
        channels = [self._channel({"channel": c}) for c in channels]
        thread_ts = str(params["thread_ts"]) if params.get("thread_ts") else None
        if thread_ts and not channels:
            raise ApiError("invalid_arguments")
        infos = [self._file_info(u) for u in uploads]
        for upload in uploads:
            upload.completed, upload.channels, upload.thread_ts = True, channels, thread_ts
            upload.initial_comment = params.get("initial_comment")
        for channel in channels:
            content = {"text": params.get("initial_comment") or ""}
            self._store(self._bot_message(channel, content, thread_ts=thread_ts, files=infos))
        return {"files": infos}

    def _file_info(self, upload: UploadedFile) -> dict[str, Any]:
        mimetype = mimetypes.guess_type(upload.filename)[0] or "application/octet-stream"
        return {
            "id": upload.id,
            "created": int(time.time()),
            "name": upload.filename,
            "title": upload.title,
            "mimetype": mimetype,
            "filetype": upload.filename.rsplit(".", 1)[-1].lower(),
            "size": len(upload.data or b""),
            "user": self.bot_user_id,
            "url_private": f"{self.base_url}/files/{upload.id}/{upload.filename}",
            "alt_txt": upload.alt_txt,
        }

    def _page(self, items: list[FakeMessage], params: dict[str, Any], limit: int) -> dict[str, Any]:
        offset = 0
        if params.get("cursor"):
            offset = int(base64.b64decode(str(params["cursor"])).decode().split(":")[1])
        limit = int(params.get("limit") or limit) or limit
        meta = _truthy(params.get("include_all_metadata"))
        page = items[offset : offset + limit]
        more = offset + limit < len(items)
        cursor = base64.b64encode(f"next:{offset + limit}".encode()).decode() if more else ""
        return {
            "messages": [self._render(m, metadata=meta) for m in page],
            "has_more": more,
            "response_metadata": {"next_cursor": cursor},
        }

    def _window(self, items: list[FakeMessage], params: dict[str, Any]) -> list[FakeMessage]:
        oldest, latest = float(params.get("oldest") or 0), params.get("latest")
        inclusive = _truthy(params.get("inclusive"))

        def inside(m: FakeMessage) -> bool:
            t = float(m.ts)
            low = t >= oldest if inclusive else t > oldest
            return low and (
                latest is None or (t <= float(latest) if inclusive else t < float(latest))
            )

        return [m for m in items if inside(m)]

    def _history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        top = [m for m in self.messages(channel) if not m.is_reply]
        return self._page(self._window(top, params)[::-1], params, 100)

    def _replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        msg = self._messages.get((channel, str(params.get("ts"))))
        if msg is None or msg.deleted:
            raise ApiError("thread_not_found")
        thread = [msg] if msg.is_reply else [msg, *self.messages(channel, msg.ts)]
        return self._page(self._window(thread, params), params, 1000)

    def _connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.socket.issue_url(f"ws://127.0.0.1:{self.port}/socket")}
