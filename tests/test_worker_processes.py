"""`draftroom serve` and `draftroom worker` as real processes on one PostgreSQL database, Slack
(the fake, in HTTP mode) and the providers (the fakes) in the test process: a /run acknowledged
by serve ends with the drafts posted by the worker; a worker killed mid-run is replaced and the
run finishes, every paid call made once, nothing left running."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.fakes.fal import FakeFal
from tests.fakes.providers import FakeOpenAI
from tests.provider_support import ScriptedModel
from tests.slack_support import PROPOSER, SECRET, SEED_PROPOSE
from tests.support import wait_until
from tests.worker_support import (
    MEDIA_CALLS,
    drafts,
    environment,
    free_port,
    processes,
    runs,
    select,
    serving,
)


@pytest.fixture(autouse=True)
def postgres_only(backend: str) -> None:
    if backend == "sqlite":
        pytest.skip("procrastinate runs on PostgreSQL")


# "600": the lease is ten minutes, and the replacement still resumes the run in seconds, since
# the killed worker's liveness lock went with it (storage/liveness.py).
@pytest.mark.parametrize("lease_s", ["4", "600"])
async def test_serve_takes_the_run_and_a_replaced_worker_finishes_it_paying_once(
    tmp_path: Path, lease_s: str
) -> None:
    from tests.fakes.slack import FakeSlack

    model = ScriptedModel()
    port = free_port()
    async with (
        FakeSlack() as slack,
        FakeOpenAI(reply_fn=model) as text,
        FakeFal(polls_in_queue=3, polls_in_progress=3) as fal,
    ):
        env = environment(tmp_path, text, fal, slack, port, PROCESS_LEASE_S=lease_s)
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
