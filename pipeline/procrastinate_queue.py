"""The work as procrastinate jobs, on PostgreSQL: the job only says "look at this row".

Tasks: `run` (a run id), `publish` (a post id) and `sweep`, periodic every minute. Each calls
the room, which does the work only if the database says it is still to do: a run is claimed
only while it is queued (or held by a stopped process), a publication per destination only
while it is not made. So a job that runs twice, late, or at the same time as another does
nothing the second time, and procrastinate's known gaps cost nothing:
- a job left `doing` by a killed worker is never retried by procrastinate (its stalled jobs
  wait for someone to retry them, and retrying one whose queueing lock is taken again fails):
  the sweep marks such jobs failed, and the room re-enqueues the run, which the run row knows;
- no procrastinate `lock` is used: a lock held by a stalled job blocks every job behind it;
- the periodic `sweep` has no queueing lock (a taken one used to stop the deferrer) and may
  miss a minute after a restart (procrastinate's periodic defers): the sweeps are all alike and
  the next minute's does the same work.
`queueing_lock=run-<id>` only spares the table a second waiting job for one run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Protocol

from procrastinate import App, PsycopgConnector
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.jobs import Status

from pipeline.procrastinate_schema import CONNECTION_OPTIONS

log = logging.getLogger(__name__)

RUN, PUBLISH, SWEEP = "draftroom.run", "draftroom.publish", "draftroom.sweep"
# A deferred job starts at once through LISTEN/NOTIFY; polling only covers a lost notification.
POLL_S = 1.0
# A worker whose heartbeat is older than this has stopped (procrastinate's default is 30 s).
HEARTBEAT_S = 5.0
STALLED_S = 30.0
# Finished jobs are kept this long, to read; then the sweep deletes them. (Not the worker's
# `delete_jobs`: a deleted periodic job has kept its minute from being deferred again.)
KEPT_HOURS = 24
STALLED_JOBS = """
SELECT j.id FROM procrastinate_jobs j
 WHERE j.status = 'doing'
   AND NOT EXISTS (
       SELECT 1 FROM procrastinate_workers w
        WHERE w.id = j.worker_id
          AND w.last_heartbeat > now() - make_interval(secs => %(seconds)s))
"""


class JobHandlers(Protocol):
    """What a job calls (the room): each safe to call twice, late, or at once."""

    async def run_job(self, run_id: int) -> None: ...

    async def publish_job(self, post_id: int) -> None: ...

    async def catch_up(self) -> None: ...


class JobQueue:
    """procrastinate's app on the database at `url`, and the workers it runs in this process.

    `handlers` is set by the process that works the jobs before its workers start; a process
    that only defers (`draftroom serve`) never sets it."""

    def __init__(self, url: str, *, pool_size: int = 4) -> None:
        self.handlers: JobHandlers | None = None
        self.app = App(
            connector=PsycopgConnector(
                conninfo=url,
                kwargs={"options": CONNECTION_OPTIONS},
                min_size=1,
                max_size=pool_size,
            )
        )
        self._worker: asyncio.Task[None] | None = None
        self._register()

    def _register(self) -> None:
        @self.app.task(name=RUN)
        async def run(run_id: int) -> None:
            await self._handling().run_job(run_id)

        @self.app.task(name=PUBLISH)
        async def publish(post_id: int) -> None:
            await self._handling().publish_job(post_id)

        @self.app.periodic(cron="* * * * *")
        @self.app.task(name=SWEEP)
        async def sweep(timestamp: int) -> None:
            await self.fail_stalled_jobs()
            await self.app.job_manager.delete_old_jobs(
                nb_hours=KEPT_HOURS, include_failed=True, include_aborted=True
            )
            await self._handling().catch_up()

    def _handling(self) -> JobHandlers:
        if self.handlers is None:
            raise RuntimeError("this process defers jobs but does not work them")
        return self.handlers

    async def open(self) -> None:
        await self.app.open_async()

    async def close(self) -> None:
        await self.stop_worker()
        await self.app.close_async()

    async def defer_run(self, run_id: int) -> int | None:
        """The job's id; None when one is waiting already (that one will do)."""
        with contextlib.suppress(AlreadyEnqueued):
            return await self.app.configure_task(RUN, queueing_lock=f"run-{run_id}").defer_async(
                run_id=run_id
            )
        return None

    async def defer_publish(self, post_id: int) -> int | None:
        with contextlib.suppress(AlreadyEnqueued):
            return await self.app.configure_task(
                PUBLISH, queueing_lock=f"publish-{post_id}"
            ).defer_async(post_id=post_id)
        return None

    async def unfinished(self, job_ids: set[int]) -> set[int]:
        """Which of these jobs are still waiting or running."""
        if not job_ids:
            return set()
        rows: list[dict[str, Any]] = await self.app.connector.execute_query_all_async(
            "SELECT id FROM procrastinate_jobs WHERE id = ANY(%(ids)s)"
            " AND status IN ('todo', 'doing')",
            ids=list(job_ids),
        )
        return {int(row["id"]) for row in rows}

    async def work(self, *, concurrency: int, name: str, graceful_s: float) -> None:
        """Work jobs until cancelled; then jobs running get `graceful_s` to finish and are
        cancelled after (what they held is handed back, or taken over, by the room)."""
        await self.app.run_worker_async(
            shutdown_graceful_timeout=graceful_s,
            concurrency=concurrency,
            name=name,
            install_signal_handlers=False,
            listen_notify=True,
            fetch_job_polling_interval=POLL_S,
            abort_job_polling_interval=POLL_S,
            update_heartbeat_interval=HEARTBEAT_S,
            stalled_worker_timeout=STALLED_S,
        )

    @property
    def working(self) -> bool:
        return self._worker is not None

    def start_worker(self, *, concurrency: int, name: str) -> None:
        """A worker in this process, as a task (`draftroom run`); stopped by `stop_worker`."""
        self._worker = asyncio.create_task(
            self.work(concurrency=concurrency, name=name, graceful_s=0.0), name="job-worker"
        )
        self._worker.add_done_callback(_log_end)

    async def stop_worker(self) -> None:
        if self._worker is None:
            return
        worker, self._worker = self._worker, None
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker

    async def fail_stalled_jobs(self) -> int:
        """Mark failed the jobs a stopped worker left `doing`: nothing retries them, and the
        work they stood for is the room's to take over (the rows say what is left)."""
        rows: list[dict[str, Any]] = await self.app.connector.execute_query_all_async(
            STALLED_JOBS, seconds=STALLED_S
        )
        for row in rows:
            await self.app.job_manager.finish_job_by_id_async(
                job_id=int(row["id"]), status=Status.FAILED, delete_job=False
            )
        if rows:
            log.info("marked %d job(s) of stopped workers failed", len(rows))
        return len(rows)


def _log_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the job worker stopped", exc_info=task.exception())


class ProcrastinateRunQueue:
    """`RunQueue` on procrastinate: enqueueing defers a `run` job; procrastinate's workers do
    the claiming, so this process's own run workers find nothing to claim.

    `work_here` > 0 (`draftroom run`): a worker in this process works the jobs, that many at
    once. It starts once this process is registered as an owner (`ready`), so no job claims a
    run for a process the others could not yet see alive, whether or not this process has
    deferred any job itself."""

    def __init__(self, jobs: JobQueue, *, work_here: int = 0) -> None:
        self.jobs = jobs
        self.work_here = work_here
        self._deferred: set[int] = set()  # jobs this process deferred that may not be done
        self._ready = False

    async def enqueue(self, run_id: int) -> None:
        self._note(await self.jobs.defer_run(run_id))

    def ready(self) -> None:
        self._ready = True
        self._start_working()

    async def defer_publication(self, post_id: int) -> bool:
        self._note(await self.jobs.defer_publish(post_id))
        return True

    @property
    def waiting_for(self) -> frozenset[int]:
        """The jobs `settle` waits for: deferred here, not yet seen finished."""
        return frozenset(self._deferred)

    async def settle(self) -> None:
        while self._deferred:
            # Only what was asked about can be dropped: a job deferred while the query was
            # out is not in its answer, and is still waited for.
            asked = set(self._deferred)
            self._deferred -= asked - await self.jobs.unfinished(asked)
            if self._deferred:
                await asyncio.sleep(0.02)

    def _note(self, job_id: int | None) -> None:
        if job_id is not None:
            self._deferred.add(job_id)
        self._start_working()

    def _start_working(self) -> None:
        if self._ready and self.work_here and not self.jobs.working:
            self.jobs.start_worker(concurrency=self.work_here, name="in-process")

    async def claim(self) -> int | None:
        return None

    async def wait_for_work(self, timeout: float) -> None:
        await asyncio.sleep(timeout)
