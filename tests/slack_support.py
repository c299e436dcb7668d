"""Shared pieces of the Slack tests: settings on a tmp_path, the bot running against FakeSlack in
HTTP or Socket Mode, and small readers of what the fake recorded."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.bootstrap import App, build
from bot.settings import Settings
from bot.slack_adapter import SlackAdapter
from bot.slack_listeners import event_key
from storage import chat
from tests import support
from tests.fakes.slack import FakeMessage, FakeSlack
from tests.support import wait_until

SECRET = "test-signing-secret"
CHANNEL = "C1"
APPROVER, PROPOSER, OUTSIDER = "UAPPROVER", "UPROPOSER", "UOUTSIDER"
SEED_SPECIAL = (
    "Generate exactly 5 items: 1 with content_format='video' and 4 with content_format='hero_text'."
)
SEED_PROPOSE = f'benchmarks as safety cases special:"{SEED_SPECIAL}"'


def slack_settings(
    tmp_path: Path, fake: FakeSlack, *, socket: bool = False, **extra: Any
) -> Settings:
    values: dict[str, Any] = {
        "SLACK_BOT_TOKEN": fake.bot_token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.api_url,
        "DATABASE_URL": support.DATABASE_URL,  # the running test's PostgreSQL, or None
        "DRAFTROOM_DB": str(tmp_path / "d.db"),
        "DRAFTROOM_MEDIA_DIR": str(tmp_path / "media"),
        "DRAFTROOM_OUTBOX_DIR": str(tmp_path / "outbox"),
        "APPROVERS": f"{APPROVER},{PROPOSER}",
        "_env_file": None,
        "WEB_PORT": 0,  # the pages on a free port: tests run side by side
    }
    if socket:
        values["SLACK_APP_TOKEN"] = fake.app_token
    values.update(extra)
    return Settings(**values)


async def eventually(check: Callable[[], bool], within: float = 10.0) -> None:
    await wait_until(check, within)


def header(message: FakeMessage) -> str:
    """The text of the message's header block ("" if it has none)."""
    for block in message.blocks or []:
        if block["type"] == "header":
            return str(block["text"]["text"])
    return ""


def block_text(message: FakeMessage) -> str:
    """Every text of the message's blocks, joined."""
    parts: list[str] = []
    for block in message.blocks or []:
        if isinstance(block.get("text"), dict):
            parts.append(str(block["text"]["text"]))
        parts.extend(str(e.get("text", "")) for e in block.get("elements", []))
    return "\n".join(parts)


@dataclass
class Bot:
    fake: FakeSlack
    app: App
    adapter: SlackAdapter

    @property
    def url(self) -> str:
        return self.adapter.events_url

    async def command(
        self, name: str, text: str = "", *, user: str = PROPOSER, channel: str = CHANNEL
    ) -> int:
        status, _ = await self.fake.send_command(
            self.url, name, text, signing_secret=SECRET, user_id=user, channel_id=channel
        )
        return status

    async def event(self, envelope: dict[str, Any], **kwargs: Any) -> int:
        status, _ = await self.fake.send_event(self.url, envelope, signing_secret=SECRET, **kwargs)
        return status

    async def settle(self) -> None:
        """Until the adapter's background work and every run it started are done."""
        room = self.app.room
        for _ in range(3):
            await self.adapter.wait_idle()
            await room.wait_idle(timeout=30)
        await self.adapter.wait_idle()

    async def seen(self, envelope: dict[str, Any]) -> bool:
        """Whether the room handled this event to the end (its delivery id is recorded done)."""
        key = event_key(envelope)
        assert key is not None
        return await chat.event_done(self.app.room.deps.db.reader, "slack", key)

    def channel_cards(self, prefix: str) -> list[FakeMessage]:
        """The bot's top-level messages whose header starts with `prefix`."""
        return [
            m
            for m in self.fake.messages(CHANNEL, user=self.fake.bot_user_id)
            if not m.is_reply and header(m).startswith(prefix)
        ]

    def drafts(self) -> list[FakeMessage]:
        return [m for m in self.channel_cards("post ") if " · draft " in header(m)]

    def thread(self, ts: str) -> list[FakeMessage]:
        return self.fake.messages(CHANNEL, thread_ts=ts)


@contextlib.asynccontextmanager
async def running_bot(
    fake: FakeSlack, settings: Settings, *, clock: Callable[[], float] = time.time
) -> AsyncIterator[Bot]:
    """The bot as `draftroom run` starts it, with HTTP mode on 127.0.0.1 and a free port;
    `clock` is the time its services read (tests move it instead of sleeping)."""
    async with build(settings, clock=clock) as app:
        adapter = SlackAdapter(settings, app.room, host="127.0.0.1", port=0)
        await adapter.start()
        await app.room.start()
        try:
            yield Bot(fake, app, adapter)
        finally:
            await adapter.stop()
            await app.room.stop()


async def propose_and_run(bot: Bot, text: str = "benchmarks as safety cases") -> list[FakeMessage]:
    """/propose then /run plan 1 as PROPOSER; returns the draft messages once all are posted."""
    assert await bot.command("/propose", text) == 200
    await bot.settle()
    assert await bot.command("/run", "1") == 200
    await bot.settle()
    return bot.drafts()
