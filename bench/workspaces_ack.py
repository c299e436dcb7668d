"""Slash-command acknowledgement with 100 Slack workspaces installed against one: the token
look-up of every request must cost the same whatever the number of installations.

One `python -m bot run` in Slack HTTP mode and OAuth mode (SLACK_CLIENT_ID, SECRETS_KEY; its
own SQLite file), against the fake Slack in a process of its own
(bench/fake_slack_oauth_process.py), which issues each workspace's tokens. Every workspace is
installed through the real flow: `/slack/install` in a browser's session, Slack's authorize
page, the bot's `/slack/oauth_redirect` exchanging the code at oauth.v2.access; tokens live
12 hours, so none is near its refresh window.

Signed `/help` commands (answered without paid work: the answer is one chat.postEphemeral),
sent at a steady RATE a second (at most CONCURRENCY in flight), COMMANDS per phase; the figure
is the time from sending a command to its HTTP 200, measured here. The rate is fixed, and below
what one workspace's answers can keep up with (a workspace's chat.postEphemeral calls go one
at a time, as Slack limits them per workspace and method), so that both kinds of phase carry
the same work a second: with commands sent as fast as they are acknowledged, A's answers queue
behind their one workspace and are sent after the phase, while B's go out beside its commands
over 100 workspaces, and B would be measured under more load than A.
Phases in the order A B B A A B, so that drift on the machine falls on both sides:
- A: one workspace installed (the first one), every command from it.
- B: TEAMS workspaces installed, commands round-robin over all of them. Before a B that follows
  an A, the other TEAMS - 1 are installed (the real flow again); before an A that follows a B,
  they are uninstalled (signed `app_uninstalled` events, their rows gone before A starts).
  Each team's first command after its install is the cold look-up, reported apart: bolt's
  auth.test for the new token (the installation itself is kept by the store from its save).
  The rest of B is the steady figure compared with A.
A phase starts once every command before it has been answered (its chat.postEphemeral
reached the fake), so no phase inherits another's background work.

Then a rotation phase: with TEAMS installed, one team (ROTATING) is installed again with a
token that enters its refresh window ROTATE_IN_S later; commands go round-robin over all
teams for ROTATION_PHASE_S, so that team's token is refreshed mid-phase (one refresh grant, its
cached installation replaced by the save) while the others' look-ups go on.

Target: p99 B / p99 A <= 1.2, measured in the same run; no refresh during A and B; every
command acknowledged and answered.
Run: python -m bench workspaces
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.bot_processes import BotProcesses, bot_env, free_port, wait_serving
from bench.common import Row, percentile, print_rows, row
from bench.fake_slack_oauth_process import FakeSlackOAuthProcess
from bot.slack_oauth import REDIRECT_PATH, ROTATE_BEFORE_MIN
from tests.slack_oauth_support import CLIENT_ID, CLIENT_SECRET, KEY

TEAMS = 100
COMMANDS = 1000  # per phase
CONCURRENCY = 10
RATE = 150  # commands a second
PHASES = "ABBAAB"
WARM_UP = 25
COMMAND = "/help"
CHANNEL = "C1"
SECRET = "bench-signing-secret"
ROTATE_IN_S = 2.0
ROTATION_PHASE_S = 6.0
TARGET_RATIO = 1.2
TEAM_IDS = [f"T{n:04d}" for n in range(TEAMS)]
SOLE = TEAM_IDS[0]
ROTATING = TEAM_IDS[TEAMS // 2]
WORKLOAD = (
    f"one `draftroom run` (Slack HTTP mode, OAuth, SQLite) against the fake Slack in a process "
    f"of its own; signed {COMMAND}, {RATE} a second (at most {CONCURRENCY} in flight), "
    f"{COMMANDS} per phase, phases "
    f"{' '.join(PHASES)}: A = 1 workspace installed, commands from it; B = {TEAMS} installed "
    f"through the real install flow (/slack/install, authorize page, oauth_redirect), commands "
    f"round-robin over all {TEAMS}, the {TEAMS - 1} others installed before a B after an A and "
    f"uninstalled (app_uninstalled) before an A after a B; then {ROTATION_PHASE_S:g} s over "
    f"the {TEAMS} with one team's token entering its refresh window {ROTATE_IN_S:g} s in"
)


@dataclass
class Sample:
    team: str
    seconds: float
    sent_at: float  # time.monotonic(), comparable with the fake's call times (same clock)
    cold: bool


@dataclass
class Phase:
    kind: str
    samples: list[Sample] = field(default_factory=list)
    answered: int = 0  # answers the fake accepted


class Bench:
    """The bot, the fake, and what was sent to the bot so far."""

    def __init__(self, fake: FakeSlackOAuthProcess, url: str, base: str, db: Path) -> None:
        self.fake, self.url, self.base, self.db = fake, url, base, db
        self.sent = 0
        self.fresh: set[str] = set()  # installed since their last command
        self.install_s: list[float] = []
        self.drain_s: list[float] = []  # from a phase's last ack to its last answer tried

    async def commands(
        self, teams: Callable[[int], str], enough: Callable[[int], bool]
    ) -> list[Sample]:
        """Commands from `teams(n)`, the n-th sent RATE a second after the first (at most
        CONCURRENCY in flight), until `enough(n)` is true."""
        found: list[Sample] = []
        numbers: Iterator[int] = iter(range(10**9))
        began = time.monotonic()

        async def one(n: int) -> None:
            team = teams(n)
            cold = team in self.fresh
            self.fresh.discard(team)
            sent_at = time.monotonic()
            status, seconds = await self.fake.command(
                self.url, team, COMMAND, user_id=f"U{n % 40}", channel_id=CHANNEL
            )
            if status != 200:
                raise RuntimeError(f"{COMMAND} from {team} answered {status}")
            found.append(Sample(team, seconds, sent_at, cold))

        async def worker() -> None:
            for n in numbers:
                if enough(n):
                    return
                await asyncio.sleep(max(0.0, began + n / RATE - time.monotonic()))
                self.sent += 1
                await one(n)

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return found

    async def answered(self, within: float = 60.0) -> dict[str, Any]:
        """Once every command sent so far has had its answer tried at the fake: the counts."""
        deadline = time.monotonic() + within
        while True:
            counts: dict[str, Any] = await self.fake.ask("counts", 0)
            if counts["answer_attempts"] >= self.sent:
                return counts
            if time.monotonic() > deadline:
                raise TimeoutError(f"{counts['answer_attempts']} of {self.sent} answers tried")
            await asyncio.sleep(0.02)

    async def install(self, teams: list[str]) -> None:
        for team in teams:
            began = time.perf_counter()
            await self.fake.install(self.base, team)
            self.install_s.append(time.perf_counter() - began)
            self.fresh.add(team)

    async def uninstall(self, teams: list[str]) -> None:
        for team in teams:
            if (status := await self.fake.uninstalled(self.url, team)) != 200:
                raise RuntimeError(f"app_uninstalled of {team} answered {status}")
        await self.wait_installed(TEAMS - len(teams))

    async def wait_installed(self, count: int, within: float = 60.0) -> None:
        deadline = time.monotonic() + within
        while (found := await asyncio.to_thread(self.installed)) != count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{found} workspaces installed, not {count}")
            await asyncio.sleep(0.02)

    def installed(self) -> int:
        with contextlib.closing(sqlite3.connect(f"{self.db.as_uri()}?mode=ro", uri=True)) as db:
            return int(db.execute("SELECT COUNT(*) FROM slack_installations").fetchone()[0])


def round_robin(n: int) -> str:
    return TEAM_IDS[n % TEAMS]


def bot_environment(folder: Path, fake: FakeSlackOAuthProcess, port: int) -> dict[str, str]:
    env = bot_env(
        folder,
        "",
        SLACK_CLIENT_ID=CLIENT_ID,
        SLACK_CLIENT_SECRET=CLIENT_SECRET,
        SECRETS_KEY=KEY,
        SLACK_OAUTH_URL=fake.authorize_url,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake.api_url,
        SLACK_PORT=str(port),
        DRAFTROOM_DB=str(folder / "bench.db"),
    )
    del env["DATABASE_URL"]  # SQLite, the default
    return env


async def alternate(bench: Bench) -> list[Phase]:
    phases: list[Phase] = []
    installed_all = False
    accepted = (await bench.answered())["answers_accepted"]
    for kind in PHASES:
        if kind == "B" and not installed_all:
            await bench.install(TEAM_IDS[1:])
            installed_all = True
        elif kind == "A" and installed_all:
            await bench.uninstall(TEAM_IDS[1:])
            installed_all = False
        await bench.wait_installed(TEAMS if installed_all else 1)
        teams = round_robin if kind == "B" else (lambda n: SOLE)
        samples = await bench.commands(teams, lambda n: n >= COMMANDS)
        acked = time.monotonic()
        counts = await bench.answered()
        bench.drain_s.append(time.monotonic() - acked)
        phases.append(Phase(kind, samples, counts["answers_accepted"] - accepted))
        accepted = counts["answers_accepted"]
        print(
            f"phase {kind}: {len(samples)} commands, p50 {ms(samples, 50):.1f} ms, "
            f"p99 {ms(samples, 99):.1f} ms, {phases[-1].answered} answered, the last "
            f"{bench.drain_s[-1]:.2f} s after the last ack "
            f"(refusals seen so far: {counts['answers_refused']})"
        )
    if not installed_all:
        await bench.install(TEAM_IDS[1:])
    return phases


async def rotation(bench: Bench) -> tuple[list[Sample], float]:
    """The rotation phase (all TEAMS installed); its samples and when ROTATING was installed."""
    await bench.fake.ask("next_lifetime", ROTATE_BEFORE_MIN * 60 + ROTATE_IN_S)
    await bench.install([ROTATING])
    installed_at = time.monotonic()
    ends = installed_at + ROTATION_PHASE_S
    samples = await bench.commands(round_robin, lambda n: time.monotonic() >= ends)
    return samples, installed_at


async def measure() -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="draftroom-bench-") as name:
        folder = Path(name)
        processes = BotProcesses(folder)
        async with FakeSlackOAuthProcess(SECRET) as fake:
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            await fake.ask("oauth_app", CLIENT_ID, CLIENT_SECRET, [base + REDIRECT_PATH])
            await fake.ask("add_teams", [(t, f"Workspace {t}") for t in TEAM_IDS])
            try:
                await processes.start(bot_environment(folder, fake, port), "run")
                await wait_serving(processes, port)
                bench = Bench(fake, f"{base}/slack/events", base, folder / "bench.db")
                await bench.install([SOLE])
                await bench.commands(lambda n: SOLE, lambda n: n >= WARM_UP)
                await bench.answered()
                began = time.monotonic()
                phases = await alternate(bench)
                before_rotation = await bench.answered()
                rotating, installed_at = await rotation(bench)
                after = await bench.answered()
                print(f"measured in {time.monotonic() - began:.1f} s")
                processes.check_alive()
            finally:
                await processes.stop()
    return figures(bench, phases, rotating, installed_at, before_rotation, after)


def ref(name: str, value: float, unit: str) -> Row:
    return row(name, value, unit, "reference", None)


def ms(samples: list[Sample], pct: float) -> float:
    return percentile([s.seconds for s in samples], pct) * 1000


def figures(
    bench: Bench,
    phases: list[Phase],
    rotating: list[Sample],
    installed_at: float,
    before: dict[str, Any],
    after: dict[str, Any],
) -> list[Row]:
    one = [s for p in phases if p.kind == "A" for s in p.samples]
    many = [s for p in phases if p.kind == "B" for s in p.samples]
    steady = [s for s in many if not s.cold]
    cold = [s for s in many if s.cold]
    p50, p99 = ms(steady, 50) / ms(one, 50), ms(steady, 99) / ms(one, 99)
    sent_a, sent_b = len(one), len(many)
    accepted = {k: sum(p.answered for p in phases if p.kind == k) for k in "AB"}
    refreshes = sum(before["grants"].values()) + sum(before["refused"].values())
    rows = [
        ref(f"ack p50, 1 workspace installed ({sent_a} commands)", ms(one, 50), "ms"),
        ref(f"ack p99, 1 workspace installed ({sent_a} commands)", ms(one, 99), "ms"),
        ref(f"ack p50, {TEAMS} installed, steady ({len(steady)} commands)", ms(steady, 50), "ms"),
        ref(f"ack p99, {TEAMS} installed, steady ({len(steady)} commands)", ms(steady, 99), "ms"),
        ref(f"p50 {TEAMS} workspaces / 1", p50, "x"),
        row(f"p99 {TEAMS} workspaces / 1", p99, "x", f"<= {TARGET_RATIO}", p99 <= TARGET_RATIO),
        ref(
            f"ack p50, each team's first command after its install ({len(cold)}: bolt's "
            "auth.test for the new token)",
            ms(cold, 50),
            "ms",
        ),
        ref(
            f"ack p99, each team's first command after its install ({len(cold)})",
            ms(cold, 99),
            "ms",
        ),
        ref(
            "answers still to send after a phase's last ack, slowest phase (same rate in A and "
            "B: near 0 s when the answers keep up)",
            max(bench.drain_s),
            "s",
        ),
        ref(
            "install through the real flow, median per workspace",
            percentile(bench.install_s, 50) * 1000,
            "ms",
        ),
        row(
            "token refreshes (granted or refused) during A and B",
            refreshes,
            "refreshes",
            "= 0",
            refreshes == 0,
        ),
        row(
            "commands acknowledged (HTTP 200)",
            bench.sent,
            "commands",
            f"= {bench.sent}",
            True,  # a command answered otherwise stops the benchmark
        ),
        row(
            "commands answered (chat.postEphemeral accepted), 1 workspace installed",
            accepted["A"],
            "answers",
            f"= {sent_a}",
            accepted["A"] == sent_a,
        ),
        row(
            f"commands answered (chat.postEphemeral accepted), {TEAMS} installed",
            accepted["B"],
            "answers",
            f"= {sent_b}",
            accepted["B"] == sent_b,
        ),
    ]
    return rows + rotation_rows(rotating, installed_at, steady, before, after)


def rotation_rows(
    samples: list[Sample],
    installed_at: float,
    steady: list[Sample],
    before: dict[str, Any],
    after: dict[str, Any],
) -> list[Row]:
    grants = after["grants"][ROTATING] - before["grants"][ROTATING]
    refused = sum(after["refused"].values()) - sum(before["refused"].values())
    others = sum(after["grants"].values()) - sum(before["grants"].values()) - grants
    refreshed_at = min(after["refresh_times"][len(before["refresh_times"]) :], default=None)
    new_token = after["tokens"][ROTATING][-1]
    ours = [s.seconds for s in samples if s.team == ROTATING]
    rest = [s for s in samples if s.team != ROTATING]
    label = f"rotation phase ({len(samples)} commands, {ROTATING}'s token refreshed mid-phase)"
    return [
        ref(f"ack p50, {label}", ms(samples, 50), "ms"),
        ref(f"ack p99, {label}", ms(samples, 99), "ms"),
        ref("rotation phase p99 / steady p99 of B", ms(samples, 99) / ms(steady, 99), "x"),
        ref(f"ack p99 of the other {TEAMS - 1} teams in the rotation phase", ms(rest, 99), "ms"),
        ref(
            f"slowest ack of {ROTATING}'s {len(ours)} commands in the rotation phase",
            max(ours) * 1000,
            "ms",
        ),
        ref(
            f"{ROTATING}'s commands acked after more than 1 s (held by its refresh)",
            sum(t > 1 for t in ours),
            "commands",
        ),
        row(
            f"refresh grants for {ROTATING} in the rotation phase",
            grants,
            "grants",
            "= 1",
            grants == 1,
        ),
        row(
            "refreshes of other teams, or refused, in the rotation phase",
            others + refused,
            "refreshes",
            "= 0",
            others + refused == 0,
        ),
        ref(
            f"seconds from {ROTATING}'s install to its refresh grant",
            (refreshed_at - installed_at) if refreshed_at is not None else float("nan"),
            "s",
        ),
        ref(
            f"auth.test calls with {ROTATING}'s refreshed token (bolt's cache, per token)",
            after["auth_tests"].get(new_token, 0),
            "calls",
        ),
    ]


def main() -> None:
    print(WORKLOAD)
    print_rows("Slack acknowledgement with 100 workspaces installed", asyncio.run(measure()))


if __name__ == "__main__":
    main()
