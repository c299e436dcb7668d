"""What the fake Slack records, and the queries tests make on it.

Records: `Call` (every request), `FakeMessage` (a message's current state), `UploadedFile`,
`ResponseUrlPost`. `RecordingMixin` holds the message store, the queries (`messages()`,
`reactions_on()`, `early_retries()` ...) and how a message renders in API answers.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any


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
    # The workspace it acted in: its token's (upload_url, response_url: what they were issued
    # for; "" for the OAuth pages, which act in none).
    team: str = ""

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
    team: str = ""  # the workspace whose channel holds it

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
    team: str = ""  # the workspace it was uploaded to


@dataclass
class ResponseUrlPost:
    response_id: str
    body: dict[str, Any]
    time: float


class RecordingMixin:
    """Recorded state and its queries; mixed into ``FakeSlack``."""

    # Provided by FakeSlack.
    app_id: str
    team_id: str
    calls: list[Call]
    response_url_posts: list[ResponseUrlPost]
    _messages: dict[tuple[str, str, str], FakeMessage]  # (team, channel, ts)

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
        team: str | None = None,
    ) -> list[FakeMessage]:
        """Messages in ts order, of `team` (without it: of every team). `thread_ts` selects the
        replies of that thread (not the parent); `user=slack.bot_user_id` keeps only the bot's
        own."""
        found = [
            m
            for m in self._messages.values()
            if (team is None or m.team == team)
            and (channel is None or m.channel == channel)
            and (thread_ts is None or (m.thread_ts == thread_ts and m.ts != thread_ts))
            and (user is None or m.user == user)
            and (include_deleted or not m.deleted)
        ]
        return sorted(found, key=lambda m: float(m.ts))

    def message(self, channel: str, ts: str, *, team: str | None = None) -> FakeMessage | None:
        """The message (channel, ts) of `team`; without it, of whichever team holds one."""
        if team is not None:
            return self._messages.get((team, channel, str(ts)))
        return next(
            (m for (_, c, t), m in self._messages.items() if (c, t) == (channel, str(ts))), None
        )

    def reactions_on(
        self, channel: str, ts: str, *, team: str | None = None
    ) -> dict[str, list[str]]:
        msg = self.message(channel, ts, team=team)
        return {} if msg is None else {k: list(v) for k, v in msg.reactions.items()}

    def responses_to(self, response_url: str) -> list[dict[str, Any]]:
        rid = response_url.rstrip("/").rsplit("/", 1)[-1]
        return [p.body for p in self.response_url_posts if p.response_id == rid]

    # ------------------------------------------------------------------ message store

    def _store(self, msg: FakeMessage) -> None:
        self._messages[(msg.team, msg.channel, msg.ts)] = msg

    def _record_user_message(
        self, team: str, channel: str, ts: str, user: str, text: str, thread_ts: str | None
    ) -> None:
        if (team, channel, ts) not in self._messages:
            self._store(FakeMessage(channel, ts, user, text, thread_ts=thread_ts, team=team))

    def _record_reaction(
        self, team: str, added: bool, channel: str, ts: str, user: str, reaction: str
    ) -> None:
        msg = self._messages.get((team, channel, ts))
        if msg is None:  # none in that team's channels: nothing to record
            return
        users = msg.reactions.setdefault(reaction, [])
        if added and user not in users:
            users.append(user)
        elif not added and user in users:
            users.remove(user)
        if not users:
            del msg.reactions[reaction]

    def _message_json(self, team: str, channel: str, ts: str) -> dict[str, Any] | None:
        msg = self._messages.get((team, channel, ts))
        return None if msg is None or msg.deleted else self._render(msg, metadata=False)

    def _render(self, msg: FakeMessage, *, metadata: bool = True) -> dict[str, Any]:
        """The message as Slack's API returns it."""
        data: dict[str, Any] = {"type": "message", "text": msg.text, "user": msg.user, "ts": msg.ts}
        if msg.bot_id:
            data.update(bot_id=msg.bot_id, app_id=self.app_id, team=msg.team)
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
            parent = self._messages.get((msg.team, msg.channel, str(msg.thread_ts)))
            data["parent_user_id"] = parent.user if parent else msg.user
        replies = self.messages(msg.channel, msg.ts, team=msg.team) if not msg.is_reply else []
        if replies:
            data.update(thread_ts=msg.ts, reply_count=len(replies), latest_reply=replies[-1].ts)
            data["reply_users"] = list(dict.fromkeys(r.user for r in replies))
        if msg.reactions:
            data["reactions"] = [
                {"name": n, "users": u, "count": len(u)} for n, u in msg.reactions.items()
            ]
        return data
