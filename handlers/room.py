"""The drafting room: the one core every adapter talks to.

Adapters translate platform input into three calls: `command`, `reaction`, `thread_message`.
Commands are parsed into small dataclasses and routed through `ROUTES`. What a user should
read comes back as a `Reply` or is raised as `UserError`; each adapter shows those in one place.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from handlers import (
    approver_queue,
    commands,
    drafts,
    expiry,
    library,
    planning,
    scheduling,
    sharing,
    workspace_destinations,
    workspace_publishing,
    workspace_settings,
)
from handlers.approvals import handle_reaction, reconcile_draft
from handlers.commands import Command
from handlers.console_channel import ConsoleMessages
from handlers.conversation import handle_thread_message
from handlers.deps import Deps
from handlers.drafts import RunEvents
from handlers.pages import Pages
from handlers.ports import (
    Card,
    ChatPort,
    Invocation,
    Link,
    ReactionEvent,
    Reply,
    Section,
    ThreadMessage,
    qualified_id,
)
from handlers.process_lease import ProcessLease
from handlers.publishing import publish_post, publish_soon, send_announcements
from handlers.refusals import refusals_as_user_errors
from handlers.setup_help import setup_help
from handlers.workspace_destinations import DestinationForm
from handlers.workspace_publishing import PersonasForm
from handlers.workspace_settings import SettingsForm, WorkspaceSettings
from pipeline.queue import Workers
from storage import chat, plans, posts, publication_targets, reactions
from storage.models import MessageLink, Place

log = logging.getLogger(__name__)

Handler = Callable[[Deps, Invocation, Any], Awaitable[Reply | None]]


async def _help(deps: Deps, inv: Invocation, cmd: commands.Help) -> Reply:
    if cmd.command == "setup":
        return await setup_help(deps, inv)
    return Reply(Card("draftroom commands", (Section(None, commands.help_text(cmd.command)),)))


ROUTES: dict[type, Handler] = {
    commands.Propose: planning.propose,
    commands.Refine: planning.refine,
    commands.RunPlan: planning.start_run,
    commands.ShowPost: library.show_post,
    commands.ListPosts: library.list_posts,
    commands.ListScheduled: scheduling.list_scheduled,
    commands.Schedule: scheduling.schedule,
    commands.Unschedule: scheduling.unschedule,
    commands.Costs: library.costs,
    commands.Ask: library.ask,
    commands.ShowQueue: approver_queue.show_queue,
    commands.ListLinks: sharing.list_links,
    commands.Revoke: sharing.revoke,
    commands.Help: _help,
}

SWEEP_INTERVAL_S = 10.0
STOP_EDITS_S = 10.0  # how long a stopping process waits for progress edits in flight
# A process that has not beaten for PROCESS_LEASE_S has stopped, and what it held is taken
# over. Many heartbeats long, so a process slowed by a busy machine is not taken for dead.
HEARTBEAT_S = 5.0
PROCESS_LEASE_S = 60.0
EARLY_KEPT_S = 86400.0  # reactions on messages that never became ours are forgotten after this
# How long an inbound event's claim holds off every other process. Longer than handling any one
# event takes (a few seconds, a minute at worst with a slow provider), so a working process is
# never overtaken; shorter than Slack's last retry (about 5 minutes after the first delivery,
# ../shared/reference/platforms.md), so that retry finishes what a crashed process claimed.
EVENT_LEASE_S = 120.0


class DraftRoom:
    def __init__(
        self,
        deps: Deps,
        *,
        workers: int = 4,
        lease_s: float = PROCESS_LEASE_S,
        heartbeat_s: float = HEARTBEAT_S,
    ) -> None:
        """`workers`: runs this process executes at once from its own queue (0: none; another
        process, or the job queue's workers, run them)."""
        self.deps = deps
        self.events = RunEvents(deps)
        self.workers = Workers(deps.queue, self._execute, self._run_crashed, count=workers)
        self.lease = ProcessLease(deps, lease_s=lease_s, heartbeat_s=heartbeat_s)
        self._sweeper: asyncio.Task[None] | None = None
        self.console_messages = ConsoleMessages(deps.db, deps.clock)
        self.pages = Pages(deps)

    def connect(self, port: ChatPort) -> None:
        self.deps.ports.connect(port)

    async def start(self) -> None:
        """Resume what a crash or restart left: runs, unposted drafts, unpublished approvals
        (on PostgreSQL, only what stopped processes left: others may be working)."""
        # Taken over before this process's own workers claim anything: a run queued when the
        # last process stopped must not be claimed here and then put back by the takeover.
        await self.lease.start()
        await self.workers.start()
        await self.catch_up()
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="delivery-sweeper")

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await self.workers.stop()
        await self.lease.stop()
        await self.deps.progress.settle(timeout=STOP_EDITS_S)

    async def sweep(self) -> int:
        """Post drafts that failed to post; how many were waiting."""
        return await drafts.sweep(self.deps)

    async def catch_up(self) -> None:
        """The sweeper's one pass: post drafts that failed to post; expire drafts not approved
        in time; publish approvals that are due (unscheduled, or their time has come) or whose
        publishing failed; send the "published" announcements a crash kept from being sent;
        take over what processes that stopped on the way left."""
        await self.lease.take_over()
        await drafts.sweep(self.deps)
        await expiry.expire_drafts(self.deps)
        reader, now = self.deps.db.reader, self.deps.clock()
        for post in await posts.approved_unpublished(reader, now=now):
            await publish_soon(self.deps, post.id)
        for post_id in await publication_targets.posts_to_continue(reader, now=now):
            await publish_soon(self.deps, post_id)
        await send_announcements(self.deps)
        async with self.deps.db.transaction() as conn:
            await reactions.forget_early_reactions(conn, before=self.deps.clock() - EARLY_KEPT_S)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_INTERVAL_S)
            try:
                await self.catch_up()
            except Exception:
                log.exception("catching up failed")

    async def _execute(self, run_id: int) -> None:
        await self.deps.pipeline.execute_run(run_id, self.events)

    async def run_job(self, run_id: int) -> None:
        """A job queue's trigger for one run: execute it if it is queued (claimed for this
        process in the database first), else nothing — a job that comes twice, or after the run
        finished or while another process runs it, changes nothing."""
        async with self.deps.db.transaction() as conn:
            claimed = await plans.claim_run(conn, run_id, self.deps.process)
        if not claimed:
            return
        try:
            await self._execute(run_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must fail the run, not the job's worker
            log.exception("run %d crashed", run_id)
            await self._run_crashed(run_id, exc)

    async def publish_job(self, post_id: int) -> None:
        """A job queue's trigger for publishing one approved post: each destination is claimed
        in the database before it is posted to, so a second job posts nothing twice."""
        await publish_post(self.deps, post_id)

    async def _run_crashed(self, run_id: int, exc: BaseException) -> None:
        async with self.deps.db.transaction() as conn:
            await plans.set_run_status(
                conn,
                run_id,
                "failed",
                now=self.deps.clock(),
                error=f"internal error: {exc!r}"[:300],
            )
        self.deps.progress.changed(run_id)

    # -- what adapters call ------------------------------------------------------------------

    def parse(self, name: str, text: str) -> Command:
        """Parse without touching storage: adapters call this before acknowledging, if they like."""
        return commands.parse(name, text, max_chars=self.deps.rules.max_text_chars)

    async def command(self, inv: Invocation, name: str, text: str) -> Reply | None:
        """A command typed as text (console, Slack)."""
        return await self.execute(inv, self.parse(name, text))

    async def execute(self, inv: Invocation, cmd: Command) -> Reply | None:
        """A command already in its dataclass (Discord's typed options), checked like text.

        A command carrying the platform's request id is claimed before any work: a replay of
        the same request (a resent signed Slack command, a redelivered interaction) does
        nothing and spends nothing. Platforms never redeliver a command that was acknowledged,
        so a crash halfway loses only that one command, which the user sees unanswered."""
        cmd = commands.checked(cmd, max_chars=self.deps.rules.max_text_chars)
        if inv.event_key is not None:
            async with self.deps.db.transaction() as conn:
                first = await chat.first_sighting(
                    conn, inv.platform, f"command:{inv.event_key}", now=self.deps.clock()
                )
            if not first:
                log.info("ignoring a replayed %s command %s", inv.platform, inv.event_key)
                return None
        with refusals_as_user_errors():
            return await ROUTES[type(cmd)](self.deps, inv, cmd)

    async def reaction(self, event: ReactionEvent) -> None:
        with refusals_as_user_errors():
            await self._once(event.platform, event.event_key, handle_reaction(self.deps, event))

    async def workspace_settings(self, workspace: str) -> WorkspaceSettings:
        """The settings in force in the workspace (its own, or the install's)."""
        return await workspace_settings.settings_of(self.deps, workspace)

    async def save_workspace_settings(
        self, workspace: str, platform: str, user_id: str, *, admin: bool, form: SettingsForm
    ) -> WorkspaceSettings:
        """An admin's form, checked and stored whole; `admin` is the platform's word (Slack:
        a workspace admin or owner; Discord: Manage Server). Raises UserError, or
        SettingsFormError with each wrong field, and then writes nothing."""
        who = qualified_id(platform, user_id)
        return await workspace_settings.save_settings(
            self.deps, workspace, who, admin=admin, form=form
        )

    async def save_workspace_personas(
        self, workspace: str, platform: str, user_id: str, *, admin: bool, form: PersonasForm
    ) -> WorkspaceSettings:
        """An admin's choice of the workspace's personas, checked and stored; refused as
        `save_workspace_settings` is, and then writes nothing."""
        who = qualified_id(platform, user_id)
        return await workspace_publishing.save_personas(
            self.deps, workspace, who, admin=admin, form=form
        )

    async def save_approval_channel(
        self, workspace: str, platform: str, user_id: str, *, admin: bool, channel: str | None
    ) -> WorkspaceSettings:
        """An admin's approval channel (as the adapter names channels; None: drafts beside
        their plans), checked and stored; refused as `save_workspace_settings` is."""
        who = qualified_id(platform, user_id)
        return await workspace_publishing.save_approval_channel(
            self.deps, workspace, who, admin=admin, channel=channel
        )

    async def save_workspace_destination(
        self, workspace: str, platform: str, user_id: str, *, admin: bool, form: DestinationForm
    ) -> list[str]:
        """An admin's destination for one of the workspace's personas, checked and stored
        sealed; the workspace's destinations after. Refused as `save_workspace_settings` is."""
        who = qualified_id(platform, user_id)
        return await workspace_destinations.save_destination(
            self.deps, workspace, who, admin=admin, form=form
        )

    async def remove_workspace_destination(
        self, workspace: str, *, admin: bool, persona: str, network: str
    ) -> list[str]:
        """An admin's removal of one of the workspace's destinations; those left after."""
        return await workspace_destinations.remove_destination(
            self.deps, workspace, admin=admin, persona=persona, network=network
        )

    async def workspace_personas(self, workspace: str | None) -> tuple[str, ...]:
        """The handles a workspace may propose for, its default first (every persona of the
        install where it chose none)."""
        handles, _ = await workspace_settings.personas_in_force(self.deps, workspace)
        return handles

    def persona_choices(self) -> list[tuple[str, str]]:
        """Every persona of the install as (handle, display name), the file's order."""
        return [(p.handle, p.display_name) for p in self.deps.personas.by_handle.values()]

    async def settings_link(
        self, workspace: str, platform: str, user_id: str, *, admin: bool
    ) -> Link | None:
        """A link to the workspace's settings page for one of its admins (`admin` is the
        platform's word, as for saving); None when shared links are off."""
        who = qualified_id(platform, user_id)
        return await workspace_settings.settings_link(self.deps, workspace, who, admin=admin)

    async def plan_suggestions(self, place: Place, limit: int) -> list[tuple[int, str]]:
        """The newest plans of a channel with a one-line label each, for pickers."""
        return await library.plan_suggestions(self.deps, place, limit)

    async def post_suggestions(self, place: Place, limit: int) -> list[tuple[int, str]]:
        return await library.post_suggestions(self.deps, place, limit)

    async def record_start(self, platform: str, *, window_s: float) -> int:
        """Record that `platform`'s connection starts now; how many starts came before it
        within `window_s` (a crash loop shows as many)."""
        async with self.deps.db.transaction() as conn:
            return await chat.record_start(conn, platform, now=self.deps.clock(), window=window_s)

    async def latest_card(
        self, platform: str, kind: str, *, plan_id: int | None = None, post_id: int | None = None
    ) -> MessageLink | None:
        """The newest plan card or draft of a plan or post on a platform."""
        return await chat.latest_message(
            self.deps.db.reader, kind=kind, platform=platform, plan_id=plan_id, post_id=post_id
        )

    async def awaiting_drafts(self, platform: str) -> list[MessageLink]:
        """Draft messages on this platform whose post still waits for approval."""
        return await chat.awaiting_draft_messages(self.deps.db.reader, platform)

    async def reconcile(self, link: MessageLink, present: set[tuple[str, str]]) -> None:
        """Bring a draft's approval state in line with the reactions on it now, as
        (user id, emoji) pairs read from the platform: the one reconciliation rule for every
        adapter (missed adds are applied, approvals whose emoji are all gone are withdrawn)."""
        await reconcile_draft(self.deps, link, present)

    async def thread_message(self, message: ThreadMessage) -> None:
        work = handle_thread_message(self.deps, message)
        with refusals_as_user_errors():
            await self._once(message.platform, message.event_key, work)

    async def _once(self, platform: str, key: str | None, work: Coroutine[Any, Any, bool]) -> None:
        """Handle an inbound event once per delivery id, across every process on the database:
        the database claims it first (the copy arriving at another replica, or at this one,
        while it is handled is skipped), and marks it done after the work succeeds. When the
        work fails or is cancelled the claim is released so a redelivery gets another chance;
        a crashed process's claim expires after EVENT_LEASE_S. An event about a message the bot
        has not linked yet (its card is still being recorded; the work returns False) is
        released too. No per-process set in front: the claim costs one short write either way,
        and a copy within this process is skipped by it just the same."""
        if key is None:
            await work
            return
        claimed = done = False
        try:
            async with self.deps.db.transaction() as conn:
                claimed = await chat.claim_event(
                    conn,
                    platform,
                    key,
                    by=self.deps.process,
                    now=self.deps.clock(),
                    lease=EVENT_LEASE_S,
                )
            if claimed:
                done = await work
        finally:
            work.close()  # unstarted when skipped; a no-op when it ran
            if claimed:  # shielded: a second cancellation must not leave the claim standing
                await asyncio.shield(self._settle_claim(platform, key, done=done))

    async def _settle_claim(self, platform: str, key: str, *, done: bool) -> None:
        if done:
            async with self.deps.db.transaction() as conn:
                await chat.finish_event(
                    conn, platform, key, by=self.deps.process, now=self.deps.clock()
                )
            return
        try:
            async with self.deps.db.transaction() as conn:
                await chat.release_event(conn, platform, key, by=self.deps.process)
        except Exception as exc:  # the lease frees it; the original outcome matters more
            log.warning("releasing the claim on %s event %s failed: %s", platform, key, exc)

    async def wait_idle(self, timeout: float = 600.0) -> None:
        """Until every run has finished and its drafts and progress are posted, and the jobs
        this process deferred (publications) are done."""
        async with asyncio.timeout(timeout):
            while True:
                await self.deps.queue.settle()
                await self.deps.progress.settle()
                if not await plans.unfinished_runs(self.deps.db.reader):
                    await drafts.sweep(self.deps)
                    await self.deps.queue.settle()
                    await self.deps.progress.settle()
                    if not await plans.unfinished_runs(self.deps.db.reader):
                        return
                await asyncio.sleep(0.05)

    async def queue_for(
        self, platform: str, user_id: str, places: list[Place], *, workspace: str | None = None
    ) -> approver_queue.Queue:
        """What waits for this person in the channels they can see (the adapter says which)."""
        who = qualified_id(platform, user_id)
        return await approver_queue.queue_for(self.deps, who, places, workspace=workspace)

    async def library_link(self, place: Place) -> Link | None:
        """A link to the channel's library (and its costs), or None when links are off."""
        return await self.deps.links.link(
            "library", None, place, label="the library", made_by=f"{place[0]}:channel"
        )

    def pickable(self) -> tuple[list[str], list[str]]:
        """The persona handles and pillar names commands take, for platforms' pickers."""
        return list(self.deps.personas.by_handle), self.deps.personas.all_pillars()
