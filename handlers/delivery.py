"""Posting run output to chat exactly once, and keeping each run's progress message current.

A draft card is posted under a key (`draft:<post>:<rev>`). The key is reserved in the database
before the send and the platform's message id recorded after it; if a crash falls in between,
the next attempt asks the platform (`find_sent`) before posting again. A send that fails stays
pending and the sweeper retries it, so no draft is lost and none is posted twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from pathlib import Path

from handlers import cards
from handlers.deps import Deps
from handlers.ports import (
    ACTION_EMOJI,
    APPROVE,
    REGENERATE,
    REJECT,
    Card,
    MessageRef,
    ReactionEvent,
)
from storage import chat, plans, posts, steps
from storage.models import MessageLink, Post

# What to do with reactions that arrived for a message before it was linked.
EarlyReactions = Callable[[MessageLink, list[ReactionEvent]], Awaitable[None]]

log = logging.getLogger(__name__)

MIN_EDIT_INTERVAL_S = 1.0
DRAFT_REACTIONS = tuple(ACTION_EMOJI[a] for a in (APPROVE, REJECT, REGENERATE))


def early_events(link: MessageLink, rows: list[dict[str, object]]) -> list[ReactionEvent]:
    return [
        ReactionEvent(
            link.platform,
            link.channel_id,
            link.message_id,
            str(row["user_id"]),
            str(row["action"]),
            bool(row["added"]),
            emoji=str(row["emoji"]),
        )
        for row in rows
    ]


def _reason(exc: Exception) -> str:
    """A short reason for the progress message: the platform's error code when it has one."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:120]


class Delivery:
    """The pipeline's observer: turns run events into chat messages."""

    def __init__(self, deps: Deps, on_early_reactions: EarlyReactions | None = None) -> None:
        self.deps = deps
        self._on_early_reactions = on_early_reactions
        self._posting: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._last_edit: dict[int, float] = {}
        self._edit_pending: dict[int, asyncio.Task[None]] = {}
        self._lock = asyncio.Lock()
        self._run_places: dict[int, tuple[str, str]] = {}

    # -- exactly-once posting ----------------------------------------------------------------

    async def post_once(
        self,
        key: str,
        platform: str,
        channel_id: str,
        card: Card,
        *,
        kind: str,
        reactions: tuple[str, ...] = (),
        plan_id: int | None = None,
        post_id: int | None = None,
        run_id: int | None = None,
        rev: int | None = None,
        thread_id: str | None = None,
    ) -> MessageRef | None:
        # Two callers with one key (an item finishing while the sweeper runs) take turns, so the
        # second finds the first's message recorded instead of asking the platform too early.
        lock = self._posting.get(key)
        if lock is None:
            lock = self._posting[key] = asyncio.Lock()
        async with lock:
            return await self._post_once(
                key,
                platform,
                channel_id,
                card,
                kind=kind,
                reactions=reactions,
                plan_id=plan_id,
                post_id=post_id,
                run_id=run_id,
                rev=rev,
                thread_id=thread_id,
            )

    async def _post_once(
        self,
        key: str,
        platform: str,
        channel_id: str,
        card: Card,
        *,
        kind: str,
        reactions: tuple[str, ...],
        plan_id: int | None,
        post_id: int | None,
        run_id: int | None,
        rev: int | None,
        thread_id: str | None,
    ) -> MessageRef | None:
        port = self.deps.port(platform)
        async with self.deps.db.transaction() as conn:
            reserved = await chat.reserve_delivery(
                conn, key, platform=platform, channel_id=channel_id, now=self.deps.clock()
            )
        if reserved.message_id is not None:
            return MessageRef(platform, channel_id, reserved.message_id)
        ref = None
        if reserved.attempts > 1:
            ref = await port.find_sent(channel_id, key, thread_id=thread_id)
        try:
            if ref is None:
                ref = await port.send(
                    channel_id, card, thread_id=thread_id, idempotency_key=key, reactions=reactions
                )
        except Exception as exc:
            log.warning("posting %s failed: %s", key, exc)
            async with self.deps.db.transaction() as conn:
                await chat.complete_delivery(conn, key, None, error=_reason(exc))
            if run_id is not None and kind == "draft":
                await self._schedule_edit(run_id)  # the progress message says it is pending
            return None
        await self.record_link(
            MessageLink(
                platform=platform,
                channel_id=channel_id,
                message_id=ref.message_id,
                kind=kind,
                plan_id=plan_id,
                post_id=post_id,
                run_id=run_id,
                rev=rev,
                created_at=self.deps.clock(),
            ),
            delivery_key=key,
        )
        return ref

    async def record_link(self, link: MessageLink, *, delivery_key: str | None = None) -> None:
        """Remember what a posted message is about (and that its keyed delivery is done), then
        apply the reactions that reached it before this: they were stashed by writes serialised
        with this one, so none falls between."""
        async with self.deps.db.transaction() as conn:
            if delivery_key is not None:
                await chat.complete_delivery(conn, delivery_key, link.message_id)
            await chat.link_message(
                conn,
                platform=link.platform,
                channel_id=link.channel_id,
                message_id=link.message_id,
                kind=link.kind,
                now=link.created_at,
                plan_id=link.plan_id,
                post_id=link.post_id,
                run_id=link.run_id,
                rev=link.rev,
            )
            early = await chat.take_early_reactions(
                conn, link.platform, link.channel_id, link.message_id
            )
        if early and self._on_early_reactions is not None:
            await self._on_early_reactions(link, early_events(link, early))

    # -- the observer ------------------------------------------------------------------------

    async def item_finished(self, post_id: int) -> None:
        post = await posts.get_post(self.deps.db.reader, post_id)
        if post is not None:
            await self.deliver_item(post)

    async def _where(self, run_id: int) -> tuple[str, str] | None:
        """The platform and channel a run posts to; they never change, so they are kept."""
        if run_id not in self._run_places:
            run = await plans.get_run(self.deps.db.reader, run_id)
            if run is None:
                return None
            self._run_places[run_id] = (run.platform, run.channel_id)
        return self._run_places[run_id]

    async def deliver_item(self, post: Post) -> None:
        place = await self._where(post.run_id)
        if place is None or place[0] not in self.deps.ports:
            return
        platform, channel_id = place
        reactions: tuple[str, ...]
        if post.status == "failed":
            card, reactions = cards.failed_item_card(post), (ACTION_EMOJI[REGENERATE],)
        else:
            card, reactions = cards.draft_card(post, await self.images_of(post)), DRAFT_REACTIONS
        await self.post_once(
            f"draft:{post.id}:{post.rev}",
            platform,
            channel_id,
            card,
            kind="draft",
            reactions=reactions,
            plan_id=post.plan_id,
            post_id=post.id,
            run_id=post.run_id,
            rev=post.rev,
        )

    async def images_of(self, post: Post) -> list[Path]:
        """The picture a draft shows: the hero-text card, else the hero image or poster."""
        if post.content_format == "text":
            return []
        by_name = {
            s.name: s.artifact
            for s in await steps.steps_of_post(self.deps.db.reader, post.id, post.rev)
            if s.artifact and s.status == "done"
        }
        for name in ("hero_card", "hero_image", "poster_frame"):
            if by_name.get(name):
                return [self.deps.media.path(str(by_name[name]))]
        return []

    async def run_progress(self, run_id: int) -> None:
        await self._schedule_edit(run_id)

    async def run_finished(self, run_id: int) -> None:
        # Not awaited: the worker moves on; `settle` waits for the last edit when it matters.
        await self._schedule_edit(run_id)

    async def _schedule_edit(self, run_id: int) -> None:
        """Edit the progress message at most once a second; later changes fold into one edit."""
        async with self._lock:
            pending = self._edit_pending.get(run_id)
            if pending is not None and not pending.done():
                return
            wait = self._last_edit.get(run_id, 0.0) + MIN_EDIT_INTERVAL_S - time.monotonic()
            self._edit_pending[run_id] = asyncio.create_task(self._edit_after(run_id, wait))

    async def _edit_after(self, run_id: int, wait: float) -> None:
        if wait > 0:
            await asyncio.sleep(wait)
        self._last_edit[run_id] = time.monotonic()
        try:
            await self.edit_progress(run_id)
        except Exception as exc:  # the next change, or the sweeper, edits it again
            log.warning("editing progress of run %d failed: %s", run_id, exc)

    async def progress_card(self, run_id: int) -> Card | None:
        reader = self.deps.db.reader
        run = await plans.get_run(reader, run_id)
        if run is None:
            return None
        items = [
            (post, await steps.steps_of_post(reader, post.id, post.rev))
            for post in await posts.posts_of_run(reader, run_id)
        ]
        return cards.progress_card(
            run.id,
            run.plan_id,
            items,
            run_status=run.status,
            error=run.error,
            unposted=await chat.failed_drafts(reader, run_id),
        )

    async def edit_progress(self, run_id: int) -> None:
        link = await chat.latest_message(self.deps.db.reader, kind="progress", run_id=run_id)
        card = await self.progress_card(run_id)
        if link is None or card is None or link.platform not in self.deps.ports:
            return
        port = self.deps.port(link.platform)
        await port.edit(MessageRef(link.platform, link.channel_id, link.message_id), card)

    async def start_progress(self, run_id: int, platform: str, channel_id: str) -> None:
        card = await self.progress_card(run_id)
        if card is not None:
            await self.post_once(
                f"progress:{run_id}", platform, channel_id, card, kind="progress", run_id=run_id
            )
            self._last_edit[run_id] = time.monotonic()

    async def settle(self) -> None:
        """Wait for edits in flight (the console's resting point, and shutdown)."""
        pending = [t for t in self._edit_pending.values() if not t.done()]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    async def sweep(self) -> int:
        """Post every finished draft whose card is not recorded as posted. Returns how many."""
        waiting = await posts.posts_needing_delivery(self.deps.db.reader)
        for post in waiting:
            await self.deliver_item(post)
        return len(waiting)
