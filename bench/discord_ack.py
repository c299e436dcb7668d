"""Interaction deferral latency: draftroom's Discord adapter against a bare discord.py bot, in
one process under one load.

This process plays Discord: two fake Discords (REST and gateway), one per bot, so neither bot
sees the other's interactions. A child process is the bot host: draftroom's adapter and a bare
discord.py client that only defers and answers run side by side on one event loop, with the
same heap freeze, while 50 runs really work on offline providers (OFFLINE_LATENCY_S=0.05 s per
call; each run is 3 hero_text items), so drafts, files, reactions, threads and progress edits
stream to draftroom's fake the whole time; whenever runs finish new ones start. discord.py
reads its REST base from a class attribute; the host makes it follow a context variable, so
each bot's tasks reach its own fake. Each bot gets COMMANDS `/posts` interactions, CONCURRENCY
at a time, in alternating blocks of BLOCK (bare, draftroom, draftroom, bare, ...). The figure is
the time from the fake dispatching INTERACTION_CREATE to the deferral (callback type 5)
reaching it.

Target: draftroom's p99 at most 1.2 times the bare bot's p99, measured in the same run.
Run: python -m bench.discord_ack
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import logging
import multiprocessing
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import discord
import yarl
from discord import app_commands

from bench.common import Row, percentile, print_rows, row, settings_in
from bench.load import Load
from bot.bootstrap import build
from bot.discord_adapter import DiscordAdapter
from bot.platforms import freeze_startup_heap
from handlers.ports import Invocation
from tests.fakes.discord import FakeDiscord

COMMANDS = 1000
CONCURRENCY = 25
BLOCK = 25
WARM_UP = 25
RUNS_IN_FLIGHT = 50
ITEMS_PER_RUN = "3 hero_text"
PROVIDER_LATENCY_S = 0.05
TARGET_RATIO = 1.2
MIN_MEAN_RUNS = RUNS_IN_FLIGHT * 0.95  # a finished run is replaced within 0.05 s
DEFERRAL = 5
WORKLOAD = (
    f"{COMMANDS} /posts interactions per bot, {CONCURRENCY} at a time, alternating blocks of "
    f"{BLOCK}; both bots in one process with {RUNS_IN_FLIGHT} runs of {ITEMS_PER_RUN} kept in "
    f"flight on offline providers ({PROVIDER_LATENCY_S} s per call)"
)


# -- the bot host (child process) ------------------------------------------------------------

_REST_BASE: contextvars.ContextVar[str] = contextvars.ContextVar("discord_rest_base")


class RestBaseOfThisBot:
    """Stands in for `discord.http.Route.BASE` (read as `self.BASE + self.path` when a route is
    built): the base of whichever bot's task builds the route; draftroom's by default, since
    its client's tasks were started before this was put in place."""

    def __init__(self, default: str) -> None:
        self.default = default

    def __add__(self, path: str) -> str:
        return _REST_BASE.get(self.default) + path


class BareBot(discord.Client):
    """discord.py with one command that defers, then answers: the floor to compare with."""

    def __init__(self, guild_id: int) -> None:
        super().__init__(intents=discord.Intents.default(), guild_ready_timeout=0.1)
        self.guild = discord.Object(guild_id)
        self.tree: app_commands.CommandTree[BareBot] = app_commands.CommandTree(self)

        @self.tree.command(name="posts", description="List recent posts.", guild=self.guild)
        async def posts(interaction: discord.Interaction[BareBot]) -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)
            await interaction.followup.send("No posts match.", ephemeral=True)

    async def setup_hook(self) -> None:
        await self.tree.sync(guild=self.guild)


async def start_bare_bot(fake: dict[str, Any]) -> tuple[BareBot, asyncio.Task[None]]:
    """Start the bare bot in a context of its own, whose REST base is its fake's."""
    context = contextvars.copy_context()
    context.run(_REST_BASE.set, fake["api_url"])
    gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake["gateway_url"])
    bot = BareBot(fake["guild_id"])
    running = asyncio.get_running_loop().create_task(bot.start(fake["token"]), context=context)
    try:
        await asyncio.wait_for(bot.wait_until_ready(), 30)
    finally:  # later connections of draftroom's client go to its own gateway
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway
    return bot, running


async def host(folder: Path, ours: dict[str, Any], bare: dict[str, Any], conn: Connection) -> None:
    settings = settings_in(
        folder,
        DISCORD_BOT_TOKEN=ours["token"],
        DISCORD_API_URL=ours["api_url"],
        DISCORD_GATEWAY_URL=ours["gateway_url"],
        DISCORD_GUILD_ID=ours["guild_id"],
        OFFLINE_LATENCY_S=PROVIDER_LATENCY_S,
        CONCURRENT_RUNS=RUNS_IN_FLIGHT,
    )
    async with build(settings) as app:
        adapter = DiscordAdapter(settings, app.room, guild_ready_timeout=0.1)
        await adapter.start()
        await app.room.start()
        discord.http.Route.BASE = RestBaseOfThisBot(ours["api_url"])  # type: ignore[assignment]
        bot, running = await start_bare_bot(bare)
        freeze_startup_heap()  # as `draftroom run` does, for both bots alike
        inv = Invocation("discord", str(ours["channel_id"]), "bench-writer")
        load = Load(app, inv, RUNS_IN_FLIGHT, ITEMS_PER_RUN)
        try:
            await load.start()
            conn.send("ready")
            since, until = await asyncio.to_thread(conn.recv)
            conn.send(
                {
                    "runs": load.in_flight(since, until),
                    "steps": await load.steps_committed(since, until),
                }
            )
        finally:
            await load.stop()
            await app.room.stop()  # the room first, as `draftroom run` does
            await adapter.stop()
            await bot.close()
            await running


def run_host(folder: str, ours: dict[str, Any], bare: dict[str, Any], conn: Connection) -> None:
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("discord.client").setLevel(logging.ERROR)  # no voice support: not needed
    asyncio.run(host(Path(folder), ours, bare, conn))


# -- Discord's side (this process) -----------------------------------------------------------


def described(fake: FakeDiscord) -> dict[str, Any]:
    return {
        "token": fake.token,
        "api_url": fake.api_url,
        "gateway_url": fake.gateway_url,
        "guild_id": fake.guild_id,
        "channel_id": fake.channel_id,
    }


async def interactions(fake: FakeDiscord, count: int) -> list[float]:
    """Dispatch `count` /posts, CONCURRENCY at a time; seconds from dispatch to deferral."""
    numbers = iter(range(count))
    ids: list[int] = []
    waiting: dict[int, tuple[Any, asyncio.Future[None]]] = {}

    async def watch() -> None:
        """One poller for all (cheaper than one per worker): resolves answered interactions."""
        while True:
            for key, (ix, done) in list(waiting.items()):
                if ix.followup_edited_loading or ix.followup_ids:
                    del waiting[key]
                    done.set_result(None)
            await asyncio.sleep(0.005)

    async def worker() -> None:
        for _ in numbers:
            ix = await fake.dispatch_interaction("posts", None, user_id=fake.approver_id)
            ids.append(ix.id)
            done = asyncio.get_running_loop().create_future()
            waiting[ix.id] = (ix, done)
            await asyncio.wait_for(done, 120)

    watcher = asyncio.create_task(watch())
    try:
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    finally:
        watcher.cancel()
    wanted = set(ids)
    deferrals = [
        r
        for r in fake.interaction_responses
        if r.interaction_id in wanted and r.type == DEFERRAL and r.status == 200
    ]
    if len(deferrals) != count:
        raise RuntimeError(f"{len(deferrals)} of {count} interactions were deferred in time")
    return [r.elapsed for r in deferrals]


async def alternate(bare: FakeDiscord, ours: FakeDiscord) -> tuple[list[float], list[float]]:
    """Blocks in the order bare, draftroom, draftroom, bare, ... so that neither bot always
    comes first after the other's work."""
    fakes = {"bare": bare, "draftroom": ours}
    times: dict[str, list[float]] = {"bare": [], "draftroom": []}
    await interactions(bare, WARM_UP)
    await interactions(ours, WARM_UP)
    for n in range(COMMANDS // BLOCK):
        for bot in ("bare", "draftroom") if n % 2 == 0 else ("draftroom", "bare"):
            times[bot] += await interactions(fakes[bot], BLOCK)
    return times["bare"], times["draftroom"]


def ms(values: list[float], pct: float) -> float:
    return percentile(values, pct) * 1000


async def receive(conn: Connection, within: float = 300.0) -> Any:
    if not await asyncio.to_thread(conn.poll, within):
        raise TimeoutError("the bot host did not answer; its traceback, if any, is above")
    return conn.recv()


def platform_work(fake: FakeDiscord, since: float, until: float) -> dict[str, int]:
    """What reached draftroom's fake Discord from the runs while interactions were measured."""
    during = [c for c in fake.calls if since <= c.time <= until]
    return {
        "uploads": sum(len(c.files) for c in during),
        "edits": sum(c.method == "PATCH" and "/messages/" in c.path for c in during),
        "posts": sum(c.method == "POST" and c.path.endswith("/messages") for c in during),
    }


async def measure() -> list[Row]:
    spawn = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="draftroom-bench-") as folder:
        async with FakeDiscord() as bare, FakeDiscord() as ours:
            here, there = spawn.Pipe()
            args = (folder, described(ours), described(bare), there)
            child = spawn.Process(target=run_host, args=args, daemon=True)
            child.start()
            try:
                await receive(here)
                wall_since, since = time.time(), time.monotonic()
                gc.disable()  # this process's own pauses would show up as deferral time
                try:
                    bare_times, our_times = await alternate(bare, ours)
                finally:
                    gc.enable()
                wall_until, until = time.time(), time.monotonic()
                here.send((wall_since, wall_until))
                load = await receive(here)
                work = platform_work(ours, since, until)
            finally:  # the fakes keep answering while the host winds down
                await asyncio.to_thread(child.join, 60)
                if child.is_alive():
                    child.kill()
    return figures(bare_times, our_times, load | work, until - since)


def figures(
    bare: list[float], ours: list[float], work: dict[str, Any], seconds: float
) -> list[Row]:
    p50_ratio = ms(ours, 50) / ms(bare, 50)
    p99_ratio = ms(ours, 99) / ms(bare, 99)
    fewest, mean = work["runs"]
    return [
        row("bare discord.py deferral p50, under load", ms(bare, 50), "ms", "reference", None),
        row("bare discord.py deferral p99, under load", ms(bare, 99), "ms", "reference", None),
        row("draftroom deferral p50, under load", ms(ours, 50), "ms", "reference", None),
        row("draftroom deferral p99, under load", ms(ours, 99), "ms", "reference", None),
        row("p50 draftroom / bare discord.py", p50_ratio, "x", "reference", None),
        row(
            "p99 draftroom / bare discord.py",
            p99_ratio,
            "x",
            f"<= {TARGET_RATIO}",
            p99_ratio <= TARGET_RATIO,
        ),
        row("runs in flight meanwhile, fewest sampled", fewest, "runs", "reference", None),
        row(
            "runs in flight meanwhile, mean",
            mean,
            "runs",
            f">= {MIN_MEAN_RUNS:g}",
            mean >= MIN_MEAN_RUNS,
        ),
        row(
            f"steps committed during the {seconds:.0f} s measured",
            work["steps"],
            "steps",
            "reference",
            None,
        ),
        row("messages posted meanwhile", work["posts"], "messages", "reference", None),
        row("message edits meanwhile", work["edits"], "edits", "reference", None),
        row("files uploaded meanwhile", work["uploads"], "files", "reference", None),
        row(
            "interactions deferred",
            len(ours),
            "interactions",
            f"= {COMMANDS}",
            len(ours) == COMMANDS,
        ),
    ]


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    print(WORKLOAD)
    print_rows("Discord interaction deferral", asyncio.run(measure()))


if __name__ == "__main__":
    main()
