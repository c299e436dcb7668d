"""Each run's progress message: posted once when the run starts, edited as it goes.

The core edits on every change, one edit per run in flight at a time: changes that arrive while
an edit is under way fold into one more edit with the latest card. How often a platform may be
edited is the adapter's to enforce (Slack's one `chat.update` a second per message, Discord's
rate limits), where the limit is known; while an adapter holds an edit back, changes fold here.
"""

from __future__ import annotations

import asyncio
import logging

from handlers import cards
from handlers.card_links import linked
from handlers.links import ShareLinks
from handlers.ports import Card, ChatPorts, MessageRef
from handlers.posting import Posting, message_link
from storage import chat, plans, posts, steps
from storage.db import Database

log = logging.getLogger(__name__)


class Progress:
    def __init__(self, db: Database, ports: ChatPorts, posting: Posting, links: ShareLinks) -> None:
        self.db = db
        self.ports = ports
        self.posting = posting
        self.links = links
        self._editing: dict[int, asyncio.Task[None]] = {}
        self._stale: set[int] = set()

    async def card(self, run_id: int) -> Card | None:
        reader = self.db.reader
        run = await plans.get_run(reader, run_id)
        if run is None:
            return None
        items = [
            (post, await steps.steps_of_post(reader, post.id, post.rev))
            for post in await posts.posts_of_run(reader, run_id)
        ]
        plan = await plans.get_plan(reader, run.plan_id)
        card = cards.progress_card(
            run.number,
            plan.number if plan else run.plan_id,
            items,
            run_status=run.status,
            error=run.error,
            unposted=await chat.failed_drafts(reader, run_id),
        )
        return await linked(
            self.links, card, (run.platform, run.channel_id), [("run", run.id, run.number)]
        )

    async def start(self, run_id: int, platform: str, channel_id: str) -> bool:
        """Post the run's progress message; False when it could not be posted."""
        card = await self.card(run_id)
        if card is None:
            return False
        now = self.posting.clock()
        link = message_link("progress", platform, channel_id, now=now, run_id=run_id)
        return await self.posting.post_once(f"progress:{run_id}", link, card) is not None

    def changed(self, run_id: int) -> None:
        """The run moved on: edit its message soon. Returns at once; the worker goes on."""
        running = self._editing.get(run_id)
        if running is not None and not running.done():
            self._stale.add(run_id)
            return
        self._editing[run_id] = asyncio.create_task(self._edit_until_current(run_id))

    async def _edit_until_current(self, run_id: int) -> None:
        while True:
            self._stale.discard(run_id)
            try:
                await self.edit(run_id)
            except Exception as exc:  # the next change, or the sweeper, edits it again
                log.warning("editing progress of run %d failed: %s", run_id, exc)
            if run_id not in self._stale:
                self._editing.pop(run_id, None)
                return

    async def edit(self, run_id: int) -> None:
        link = await chat.latest_message(self.db.reader, kind="progress", run_id=run_id)
        card = await self.card(run_id)
        if link is None or card is None or link.platform not in self.ports:
            return
        ref = MessageRef(link.platform, link.channel_id, link.message_id)
        await self.ports.get(link.platform).edit(ref, card)

    async def settle(self, timeout: float | None = None) -> None:
        """Wait for edits in flight (the console's resting point, and shutdown). With a
        `timeout` (shutdown), edits still waiting then are cancelled: one held back by a rate
        limit's Retry-After must not keep a process from stopping; the message is brought up to
        date by the next edit of its run, or the sweeper."""
        try:
            async with asyncio.timeout(timeout):
                while pending := [t for t in self._editing.values() if not t.done()]:
                    await asyncio.gather(*pending, return_exceptions=True)
        except TimeoutError:
            for task in self._editing.values():
                task.cancel()
            await asyncio.gather(*self._editing.values(), return_exceptions=True)
            self._editing.clear()
            log.info("stopped with progress edits still waiting; they are made later")
