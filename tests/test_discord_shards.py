"""Discord shards: one process serves every shard it names; two on one database split them, one
gateway connection per shard, and a standby takes a shard over when its owner stops.

Two bots in this one test process are two owners as far as the locks go: on PostgreSQL each
holds its advisory locks on a session (connection) of its own; on SQLite each takes its flock
through its own `open()` of the lock file, and flock belongs to the open file description, so
the second is refused as a second process would be.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from storage.gateway_locks import gateway_locks
from tests import support
from tests.discord_support import (
    Bot,
    discord_py_restored,
    discord_settings,
    embed_text,
    running_bot,
)
from tests.fakes.discord import FakeDiscord
from tests.support import database_for, wait_until

SHARDS = {"SHARD_COUNT": 2, "SHARD_IDS": "0,1", "DISCORD_GUILD_ID": None}


def shard_settings(fake: FakeDiscord, tmp_path: Path) -> Any:
    """Both shards, on the running test's database (discord_settings: PostgreSQL or SQLite)."""
    return discord_settings(fake, tmp_path, **SHARDS)


def shard_of(guild_id: int) -> int:
    return (guild_id >> 22) % 2


@contextlib.asynccontextmanager
async def two_guilds() -> AsyncIterator[tuple[FakeDiscord, dict[int, int]]]:
    """The fake with a second server; returns it and each shard's channel."""
    with discord_py_restored():
        async with FakeDiscord() as fake:
            other = fake.guild_id + (1 << 22)
            channel = fake.add_guild(other, "Second server")
            assert {shard_of(fake.guild_id), shard_of(other)} == {0, 1}
            yield fake, {shard_of(fake.guild_id): fake.channel_id, shard_of(other): channel}


async def answered(bot: Bot, channel: int) -> tuple[Any, str]:
    ix = await bot.fake.dispatch_interaction("help", None, channel_id=channel)
    await bot.fake.wait_until(lambda: ix.followup_edited_loading or ix.followup_ids, 15)
    return ix, embed_text(bot.followup(ix))


def callbacks(fake: FakeDiscord, ix: Any) -> list[Any]:
    """Every attempt to answer the interaction (a second process's would be refused, 40060)."""
    return [r for r in fake.interaction_responses if r.interaction_id == ix.id]


async def test_one_process_serves_both_shards(tmp_path: Path) -> None:
    async with (
        two_guilds() as (fake, channels),
        running_bot(fake, shard_settings(fake, tmp_path)) as bot,
    ):
        assert sorted(d["shard"] for d in fake.identifies) == [[0, 2], [1, 2]]
        for shard, channel in channels.items():
            ix, text = await answered(bot, channel)
            assert "/propose" in text, shard
            assert [r.status for r in callbacks(fake, ix)] == [200]


async def test_two_processes_one_gateway_per_shard_and_a_standby_takes_over(
    tmp_path: Path,
) -> None:
    async with two_guilds() as (fake, channels), contextlib.AsyncExitStack() as owner_stack:
        settings = shard_settings(fake, tmp_path)
        owner = await owner_stack.enter_async_context(running_bot(fake, settings))
        on = "PostgresDatabase" if support.DATABASE_URL else "SqliteDatabase"
        assert type(owner.app.room.deps.db).__name__ == on
        async with running_bot(fake, settings) as standby:
            rounds = standby.adapter.shards.rounds
            await wait_until(lambda: standby.adapter.shards.rounds >= rounds + 5, 10)
            assert owner.adapter.shards.served == {0, 1}
            assert standby.adapter.shards.served == set()
            for shard in (0, 1):
                assert (fake.shard_identifies(shard), fake.shard_sessions(shard)) == (1, 1)
            for channel in channels.values():
                ix, text = await answered(owner, channel)
                assert "/propose" in text
                assert [r.status for r in callbacks(fake, ix)] == [200]

            await owner_stack.aclose()  # the owner of shard 0 (and 1) stops
            await wait_until(lambda: standby.adapter.shards.served == {0, 1}, 20)
            await wait_until(lambda: fake.shard_sessions(0) == fake.shard_sessions(1) == 1, 20)
            assert [fake.shard_identifies(shard) for shard in (0, 1)] == [2, 2]
            for channel in channels.values():
                ix, text = await answered(standby, channel)
                assert "/propose" in text
                assert [r.status for r in callbacks(fake, ix)] == [200]


HOLDER = """
import asyncio, sys
from storage import backend
from storage.gateway_locks import gateway_locks

async def main():
    locks = gateway_locks(backend.database(sys.argv[1] or None, sys.argv[2]))
    print(await locks.try_hold(0), flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


async def test_a_killed_owner_leaves_its_shard_to_the_next(tmp_path: Path) -> None:
    """The lock goes with the process that held it: nothing has to release it."""
    db_file = str(tmp_path / "draftroom.db")
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        HOLDER,
        support.DATABASE_URL or "",
        db_file,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None
        assert await asyncio.wait_for(holder.stdout.readline(), 30) == b"True\n"
        locks = gateway_locks(database_for(tmp_path))
        try:
            assert not await locks.try_hold(0)
            assert await locks.try_hold(1), "only shard 0 is taken"
            holder.kill()
            await holder.wait()
            # The server ends a dead client's session a moment after its socket closes.
            await wait_until(lambda: locks.try_hold(0), 10)
        finally:
            await locks.close()
    finally:
        if holder.returncode is None:
            holder.kill()
            await holder.wait()
