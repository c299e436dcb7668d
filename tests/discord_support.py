"""Running draftroom on the fake Discord: real discord.py, real HTTP and gateway on 127.0.0.1.

`discord_bot(...)` starts the fake, points discord.py at it (restoring the class attributes
afterwards), builds the app on files under `tmp_path`, starts the adapter and the room, and
stops everything on the way out. Helpers find the bot's messages the way a person would see them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord

from bot.bootstrap import App, build
from bot.discord_adapter import DiscordAdapter
from bot.settings import Settings
from storage import plans
from tests import support
from tests.fakes.discord import FakeDiscord
from tests.support import wait_until

MESSAGES = "/channels/{channel_id}/messages"


@contextlib.contextmanager
def discord_py_restored() -> Iterator[None]:
    """discord.py's REST base and gateway are class attributes: put them back afterwards."""
    base = discord.http.Route.BASE
    gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    try:
        yield
    finally:
        discord.http.Route.BASE = base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway


def discord_settings(fake: FakeDiscord, tmp_path: Path, **env: Any) -> Settings:
    """Settings for a bot on `fake`; an `env` value may be a function of the fake."""
    values: dict[str, Any] = {
        "DISCORD_BOT_TOKEN": fake.token,
        "DISCORD_API_URL": fake.api_url,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
        "DISCORD_GUILD_ID": fake.guild_id,
        "DRAFTROOM_DB": str(tmp_path / "draftroom.db"),
        "DATABASE_URL": support.DATABASE_URL,  # the running test's PostgreSQL, None on SQLite
        "DRAFTROOM_MEDIA_DIR": str(tmp_path / "media"),
        "DRAFTROOM_OUTBOX_DIR": str(tmp_path / "outbox"),
        "APPROVERS": str(fake.approver_id),
        "RETRY_BASE_S": 0.01,
        "WEB_PORT": 0,  # the pages on a free port: tests run side by side
    }
    values.update({name: v(fake) if callable(v) else v for name, v in env.items()})
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


class QuickClientAdapter(DiscordAdapter):
    """The adapter with on_ready 0.1 s after GUILD_CREATE instead of 2 s, and a shard held
    elsewhere tried every 0.2 s instead of 5 s."""

    def __init__(self, settings: Settings, room: Any, gateway_locks: Any = None) -> None:
        super().__init__(
            settings,
            room,
            guild_ready_timeout=0.1,
            gateway_locks=gateway_locks,
            shard_retry_s=SHARD_RETRY_S,
        )


SHARD_RETRY_S = 0.2


@dataclass
class Bot:
    fake: FakeDiscord
    app: App
    adapter: DiscordAdapter
    settings: Settings

    @property
    def channel(self) -> int:
        return self.fake.channel_id

    async def command(self, name: str, user: int | None = None, **options: Any) -> Any:
        """Run a slash command and wait until its last follow-up arrived; returns the
        interaction record (its `followup_ids`, `response_type`, ...)."""
        ix = await self.fake.dispatch_interaction(name, options or None, user_id=user)
        await self.fake.wait_until(lambda: ix.followup_edited_loading or ix.followup_ids, 30)
        return ix

    def followup(self, ix: Any) -> dict[str, Any]:
        """The (ephemeral) message that answered the interaction."""
        mid = ix.followup_ids[-1] if ix.followup_ids else ix.original_message_id
        return self.fake._render(self.fake._msgs[mid])

    def bot_messages(self, channel: int | None = None) -> list[dict[str, Any]]:
        channel = self.channel if channel is None else channel
        return [
            m
            for m in self.fake.messages(channel)
            if m["author"]["id"] == str(self.fake.bot_user_id) and m.get("type") == 0
        ]

    def titled(self, prefix: str, channel: int | None = None) -> list[dict[str, Any]]:
        return [
            m
            for m in self.bot_messages(channel)
            if m["embeds"] and (m["embeds"][0].get("title") or "").startswith(prefix)
        ]

    def drafts(self) -> list[dict[str, Any]]:
        return [m for m in self.titled("post ") if " · draft " in m["embeds"][0]["title"]]

    async def idle(self) -> None:
        await self.app.room.wait_idle(timeout=30)
        await self.adapter.wait_idle()

    async def events_handled(self) -> None:
        """Until discord.py's handler of every event dispatched so far has returned. With a
        later event's effect seen first, this proves earlier events were handled (and ignored)
        rather than not yet read: the gateway dispatches events in the order they arrive."""
        while pending := [
            task
            for task in asyncio.all_tasks()
            if task.get_name().startswith("discord.py: on_") and not task.done()
        ]:
            await asyncio.gather(*pending, return_exceptions=True)

    async def drafted(self, items: int = 1, idea: str = "benchmarks as safety cases") -> Any:
        """A writer (not an approver) proposes and runs a batch of `items` hero-text drafts;
        returns the draft messages, oldest first."""
        special = f"Generate exactly {items} items: {items} with content_format='hero_text'."
        writer = self.fake.non_approver_id
        await self.command("propose", writer, idea=idea, special=special)
        [plan_id] = await plans.recent_plan_ids(self.app.room.deps.db.reader, 1)
        await self.command("run", writer, plan=plan_id)
        await self.idle()
        return self.drafts()

    def thread_titles(self, message: dict[str, Any]) -> list[str]:
        """What the bot said in the thread of `message`: embed titles, else the text."""
        said = self.bot_messages(int(message["id"]))
        return [m["embeds"][0].get("title", "") if m["embeds"] else m["content"] for m in said]


def embed_text(message: dict[str, Any]) -> str:
    parts = []
    for embed in message["embeds"]:
        parts += [embed.get("title") or "", embed.get("description") or ""]
        parts.append((embed.get("footer") or {}).get("text") or "")
    return "\n".join(parts)


@contextlib.asynccontextmanager
async def running_bot(fake: FakeDiscord, settings: Settings) -> AsyncIterator[Bot]:
    """One bot process: the app on its database, the adapter connected, the room started."""
    async with build(settings) as app:
        adapter = QuickClientAdapter(settings, app.room, app.gateway_locks)
        await adapter.start()
        try:
            await app.room.start()
            try:
                yield Bot(fake, app, adapter, settings)
            finally:
                await app.room.stop()
        finally:
            await adapter.stop()


@contextlib.asynccontextmanager
async def discord_bot(
    tmp_path: Path, *, fake_options: dict[str, Any] | None = None, **env: Any
) -> AsyncIterator[Bot]:
    """A fresh fake Discord (made with `fake_options`) and one bot process on it, files under
    `tmp_path`."""

    def settings_for(fake: FakeDiscord) -> Settings:
        return discord_settings(fake, tmp_path, **env)

    with discord_py_restored():
        async with (
            FakeDiscord(**(fake_options or {})) as fake,
            running_bot(fake, settings_for(fake)) as bot,
        ):
            yield bot


async def eventually(condition: Any, timeout: float = 10.0) -> Any:
    return await wait_until(condition, timeout)
