"""SIGKILL the worker running the seed's batch at ten points while a second worker runs: the
second takes the run over and finishes it, every paid call made once, one draft per item.

`draftroom serve` and two `draftroom worker`s start together on the test's PostgreSQL database
(a killed worker's lease runs out after 2 s; a sweep takes its run over). The run's owner
(`runs.owner`, host:pid:token) names the worker to kill. The test watches the database and, as
soon as it shows the point, closes the providers' doors (a request that comes now waits, is not
answered, and is never paid: the caller is gone when the doors open), freezes the owner with
SIGSTOP, reads again while nothing can change and kills it only if the point still holds and no
paid request is answered without the run having stored it (the known limit: a fal request
accepted and its handle not stored is paid twice). The doors open once the other worker owns
the run. The fakes run in the test's event loop, so while the test looks, they answer nothing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.crash_watch import Watch
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
    select,
    serving,
)

ITEMS = 5


@pytest.fixture(autouse=True)
def postgres_only(backend: str) -> None:
    if backend == "sqlite":
        pytest.skip("procrastinate runs on PostgreSQL")


@dataclass
class Seen:
    """What the database shows at one moment, and what the fakes have been asked."""

    status: str = ""
    owner: str | None = None
    posts: int = 0
    done: int = 0  # the run's steps done
    unfinished: int = 0  # the run's steps queued or running
    handles: set[str] = field(default_factory=set)  # fal requests the run has stored
    drafts: int = 0  # drafts posted and recorded
    text_asked: int = 0  # text requests at the fake, answered or held at its door
    text_stored: int = 0  # text answers the run has stored: its batch and its video scripts

    @property
    def owner_pid(self) -> int | None:
        return int(self.owner.split(":")[1]) if self.owner else None


def look(watch: Watch, text: FakeOpenAI) -> Seen:
    seen = Seen(text_asked=len(text.requests))
    with watch.snapshot():
        rows = watch.rows("SELECT status, owner FROM runs")
        if not rows:
            return seen
        [(seen.status, seen.owner)] = rows
        [(seen.posts,)] = watch.rows("SELECT COUNT(*) FROM posts")
        for name, status, handle in watch.rows(
            "SELECT name, status, handle_json FROM steps WHERE run_id IS NOT NULL"
        ):
            seen.done += status == "done"
            seen.text_stored += status == "done" and name == "video_script"
            seen.unfinished += status in ("queued", "running")
            if handle:
                seen.handles.add(str(json.loads(handle).get("request_id")))
        seen.text_stored += seen.posts > 0
        [(seen.drafts,)] = watch.rows(
            "SELECT COUNT(*) FROM deliveries WHERE key LIKE 'draft:%' AND message_id IS NOT NULL"
        )
    return seen


Point = Callable[[Seen, FakeFal], bool]


def running(point: Point) -> Point:
    return lambda seen, fal: (
        seen.status == "running" and seen.owner is not None and point(seen, fal)
    )


def steps_done(k: int) -> Point:
    return running(lambda seen, fal: seen.done >= k and seen.unfinished > 0)


def drafts_posted(n: int) -> Point:
    return running(lambda seen, fal: seen.drafts >= n and seen.unfinished > 0)


def polled(seen: Seen, fal: FakeFal) -> bool:
    """A fal request the run has stored is being polled (fal is working on it)."""
    polled_ids = {path.split("/")[-2] for path in fal.status_polls}
    return any(h in polled_ids and not fal.jobs[h].completed for h in seen.handles)


# Each item's draft step is done with the batch.
POINTS: dict[str, Point] = {
    "run claimed, its batch request waiting at the provider": running(
        lambda seen, fal: seen.posts == 0 and seen.text_asked >= 2
    ),
    "batch committed, no item step finished": running(lambda seen, fal: seen.posts == ITEMS),
    "one item step committed": steps_done(ITEMS + 1),
    "three item steps committed": steps_done(ITEMS + 3),
    "six item steps committed": steps_done(ITEMS + 6),
    "a fal request polled, its handle stored": running(polled),
    "a fal request polled after three item steps": running(
        lambda seen, fal: seen.done >= ITEMS + 3 and polled(seen, fal)
    ),
    "a draft posted, the other items in their steps": drafts_posted(1),
    "three drafts posted, two items in their steps": drafts_posted(3),
    "ten item steps committed": steps_done(ITEMS + 10),
}


class Doors:
    """The providers' doors: closed, a new request waits unanswered (unpaid) until they open."""

    def __init__(self, text: FakeOpenAI, fal: FakeFal) -> None:
        self.text, self.fal = text, fal

    def close(self) -> None:
        self.text.hang = True
        self.fal.accepting.clear()

    def open(self) -> None:
        self.text.hang = False
        self.text.release_held()  # held text requests get a 503 (their caller retries)
        self.fal.accepting.set()  # held fal requests of a killed caller are refused (499)


def unstored_fal_requests(seen: Seen, fal: FakeFal, done_before: set[str]) -> set[str]:
    """Requests fal accepted that the run has not stored: a kill now would pay them twice."""
    return set(fal.jobs) - seen.handles - done_before


class KillAt:
    """A sync condition for wait_until: kills the run's owner at `point`, returns its pid."""

    def __init__(
        self,
        point: Point,
        workers: list[subprocess.Popen[bytes]],
        doors: Doors,
        slack: Any,
        sessions: dict[int, str],
    ) -> None:
        self.point, self.workers, self.doors, self.slack = point, workers, doors, slack
        self.sessions = sessions
        self.watch = Watch(Path("unused"))
        self.frozen: Seen | None = None

    def __call__(self) -> int | None:
        text, fal = self.doors.text, self.doors.fal
        assert self.watch.ready()
        seen = look(self.watch, text)
        if seen.status in ("done", "failed"):
            raise AssertionError(f"the run finished without passing the point: {seen}")
        if not self.point(seen, fal):
            return None
        [victim] = [w for w in self.workers if w.pid == seen.owner_pid]
        self.doors.close()
        victim.send_signal(signal.SIGSTOP)
        _, status = os.waitpid(victim.pid, os.WUNTRACED)
        assert os.WIFSTOPPED(status), "the worker ended before the point"
        # Only the frozen worker's sessions: the other may wait on a lock the frozen one holds.
        frozen = self.watch.still(
            lambda: look(self.watch, text), sessions=self.sessions[victim.pid]
        )
        # A fal request whose result the run stored as done has no handle left: done steps'
        # requests are the completed jobs.
        done = {rid for rid, job in fal.jobs.items() if job.completed}
        answered_unstored = unstored_fal_requests(frozen, fal, done)
        # The plan's answer came before the run; every other answer must be stored.
        text_unstored = text.completed != 1 + frozen.text_stored
        # A draft Slack has and the run has not recorded is another point (posting in flight).
        posting = len(drafts(self.slack)) != frozen.drafts
        if not self.point(frozen, fal) or answered_unstored or text_unstored or posting:
            victim.send_signal(signal.SIGCONT)
            self.doors.open()
            return None
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        self.frozen = frozen
        return victim.pid


async def seed_run(slack: Any, port: int) -> None:
    url = f"http://127.0.0.1:{port}/slack/events"
    status, _ = await slack.send_command(
        url, "/propose", SEED_PROPOSE, signing_secret=SECRET, user_id=PROPOSER
    )
    assert status == 200
    await wait_until(lambda: select("SELECT current_rev FROM plans") == [(1,)], 30)


async def start_run(slack: Any, port: int) -> None:
    url = f"http://127.0.0.1:{port}/slack/events"
    status, _ = await slack.send_command(url, "/run", "1", signing_secret=SECRET, user_id=PROPOSER)
    assert status == 200


def owner_pid() -> int | None:
    [(owner,)] = select("SELECT owner FROM runs")
    return int(owner.split(":")[1]) if owner else None


@pytest.mark.parametrize("point", list(POINTS))
async def test_a_worker_killed_at_a_point_of_the_batch_the_other_finishes_paying_once(
    tmp_path: Path, point: str
) -> None:
    from tests.fakes.slack import FakeSlack

    model = ScriptedModel()
    port = free_port()
    async with (
        FakeSlack() as slack,
        FakeOpenAI(reply_fn=model) as text,
        FakeFal(polls_in_queue=2, polls_in_progress=2) as fal,
    ):
        env = environment(
            tmp_path, text, fal, slack, port, PROCESS_LEASE_S="2", IMAGE_CONCURRENCY="2"
        )
        doors = Doors(text, fal)
        with processes(tmp_path, env) as bots:
            bots.start("serve")
            workers = [bots.start("worker"), bots.start("worker")]
            await wait_until(lambda: serving(port), 60)
            await seed_run(slack, port)
            if point.startswith("run claimed"):
                doors.close()  # the batch request waits at the door until the kill
            await start_run(slack, port)
            kill = KillAt(POINTS[point], workers, doors, slack, bots.sessions)
            try:
                killed = await wait_until(kill, 60)
            finally:
                kill.watch.close()
            [survivor] = [w for w in workers if w.pid != killed]
            # Taken over by the other worker (the doors closed until then: what the killed
            # worker sent is never answered).
            await wait_until(lambda: owner_pid() == survivor.pid, 30)
            doors.open()

            await wait_until(lambda: select("SELECT status FROM runs") == [("done",)], 60)
            await wait_until(lambda: len(drafts(slack)) >= ITEMS, 30)
            assert sum(fal.submissions.values()) == MEDIA_CALLS, fal.submissions
            assert model.asked["DraftBatch"] == 1
            assert all(n == 1 for n in model.asked.values() if n), model.asked
            assert len(drafts(slack)) == len(set(drafts(slack))) == ITEMS
            assert select("SELECT COUNT(*) FROM steps WHERE status IN ('queued', 'running')") == [
                (0,)
            ]
            assert select("SELECT COUNT(*) FROM reservations WHERE settled_at IS NULL") == [(0,)]
            codes = bots.stop_all()
            assert codes[0] == 0 and codes[1 + workers.index(survivor)] == 0, codes
            # No job left doing by a live worker (the killed one's is the sweep's to fail).
            # No job left doing but the killed worker's (the sweep's to fail once it stalls):
            # the workers that stopped cleanly left the table, the killed one's row stays.
            [(killed_worker,)] = select("SELECT id FROM procrastinate.procrastinate_workers")
            assert select(
                "SELECT worker_id FROM procrastinate.procrastinate_jobs WHERE status = 'doing'"
            ) in ([], [(killed_worker,)])
