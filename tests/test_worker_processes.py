"""`draftroom serve` and `draftroom worker` as real processes on one PostgreSQL database, Slack
(the fake, in HTTP mode) and the providers (the fakes) in the test process: a /run acknowledged
by serve ends with the drafts posted by the worker; a worker killed mid-run is replaced and the
run finishes, every paid call made once, nothing left running."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests import support
from tests.crash_watch import bot_environment
from tests.fakes.fal import FakeFal
from tests.fakes.providers import FakeOpenAI
from tests.provider_support import PRICE_INPUT, PRICE_OUTPUT, TEXT_MODEL, ScriptedModel
from tests.slack_support import APPROVER, CHANNEL, PROPOSER, SECRET, SEED_PROPOSE, header
from tests.support import wait_until

MEDIA_CALLS = 6  # the seed's batch on fal: four hero images, a poster frame, one video clip


@pytest.fixture(autouse=True)
def postgres_only(backend: str) -> None:
    if backend == "sqlite":
        pytest.skip("procrastinate runs on PostgreSQL")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Processes:
    """The bot's processes of one test; each one's log kept under the test's folder."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder, self.env = folder, env
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, command: str) -> subprocess.Popen[bytes]:
        log = (self.folder / f"{command}-{len(self.started) + 1}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", command],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.folder,
            env=self.env,
        )
        self.started.append(process)
        return process

    def stop_all(self) -> list[int | None]:
        for process in self.started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        codes = []
        for process in self.started:
            try:
                codes.append(process.wait(timeout=30))
            except subprocess.TimeoutExpired:
                process.kill()
                codes.append(process.wait())
        return codes


@contextlib.contextmanager
def processes(folder: Path, env: dict[str, str]) -> Iterator[Processes]:
    started = Processes(folder, env)
    try:
        yield started
    finally:
        for process in started.started:  # never leave one behind
            if process.poll() is None:
                process.kill()
                process.wait()


def environment(
    tmp_path: Path, text: FakeOpenAI, fal: FakeFal, slack: Any, port: int
) -> dict[str, str]:
    env = {
        **os.environ,
        **bot_environment(),
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url,
        "SLACK_PORT": str(port),
        "APPROVERS": f"{APPROVER},{PROPOSER}",
        "DRAFTROOM_DB": str(tmp_path / "unused.db"),
        "DRAFTROOM_MEDIA_DIR": str(tmp_path / "media"),
        "DRAFTROOM_OUTBOX_DIR": str(tmp_path / "outbox"),
        "LLM_PROVIDER": "openai",
        "LLM_BASE_URL": text.base_url,
        "LLM_API_KEY": "sk-unused",
        "LLM_MODEL": TEXT_MODEL,
        "LLM_PRICE_INPUT_PER_MTOK": str(PRICE_INPUT),
        "LLM_PRICE_OUTPUT_PER_MTOK": str(PRICE_OUTPUT),
        "FAL_KEY": fal.api_key,
        "FAL_QUEUE_URL": fal.url,
        "VIDEO_MODEL": "fal-ai/fake-video/text-to-video",
        "VIDEO_PRICE_USD": "0.40",
        "MEDIA_HOSTS": fal.media_host,
        "FAL_POLL_INTERVAL_S": "0.05",
        "IMAGE_CONCURRENCY": "1",
        "RETRY_BASE_S": "0.01",
        # A killed worker is taken over within seconds, not the default minute.
        "PROCESS_LEASE_S": "4",
        "WEB_PORT": "0",
    }
    for name in ("DISCORD_BOT_TOKEN", "SLACK_APP_TOKEN"):
        env.pop(name, None)
    return env


def drafts(slack: Any) -> list[str]:
    return [
        header(m)
        for m in slack.messages(CHANNEL, user=slack.bot_user_id)
        if not m.is_reply and " · draft " in header(m)
    ]


def select(sql: str) -> list[tuple[Any, ...]]:
    assert support.DATABASE_URL is not None
    with psycopg.connect(support.DATABASE_URL) as conn:
        return list(conn.execute(sql).fetchall())  # type: ignore[arg-type]


def runs() -> list[tuple[Any, ...]]:
    return select("SELECT status FROM runs ORDER BY id")


async def serving(port: int) -> bool:
    try:
        async with httpx.AsyncClient() as client:
            return (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
    except httpx.HTTPError:
        return False


async def test_serve_takes_the_run_and_a_replaced_worker_finishes_it_paying_once(
    tmp_path: Path,
) -> None:
    from tests.fakes.slack import FakeSlack

    model = ScriptedModel()
    port = free_port()
    async with (
        FakeSlack() as slack,
        FakeOpenAI(reply_fn=model) as text,
        FakeFal(polls_in_queue=3, polls_in_progress=3) as fal,
    ):
        env = environment(tmp_path, text, fal, slack, port)
        with processes(tmp_path, env) as bots:
            bots.start("serve")
            await wait_until(lambda: serving(port), 60)
            first = bots.start("worker")
            url = f"http://127.0.0.1:{port}/slack/events"
            status, _ = await slack.send_command(
                url, "/propose", SEED_PROPOSE, signing_secret=SECRET, user_id=PROPOSER
            )
            assert status == 200
            await wait_until(lambda: select("SELECT current_rev FROM plans") == [(1,)], 30)
            status, _ = await slack.send_command(
                url, "/run", "1", signing_secret=SECRET, user_id=PROPOSER
            )
            assert status == 200
            # Killed while fal works on a request whose handle the run has stored (polled): a
            # kill between fal accepting a request and the handle being stored pays it twice.
            await wait_until(lambda: len(fal.status_polls) >= 8, 60)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
            assert runs() == [("running",)]
            bots.start("worker")

            await wait_until(lambda: len(drafts(slack)) == 5, 90)
            await wait_until(lambda: runs() == [("done",)], 30)
            assert sum(fal.submissions.values()) == MEDIA_CALLS
            assert model.asked["DraftBatch"] == 1
            assert len(set(drafts(slack))) == 5
            codes = bots.stop_all()
            # serve and the replacement worker stop cleanly on SIGTERM.
            assert codes == [0, -signal.SIGKILL, 0], codes
