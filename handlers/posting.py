"""Posting a message exactly once, and remembering what each posted message is about.

A keyed message (a draft card `draft:<post>:<rev>`, a run's progress `progress:<run>`, a
"published" reply) is reserved in the database before the send and its platform id recorded
after it; if a crash falls in between, the next attempt asks the platform (`find_sent`) before
posting again. A send that fails stays pending for the sweeper, so nothing is lost and nothing is
posted twice.

Recording a message's link also collects the reactions that reached it before the link existed
(stashed by `handlers.approvals`, in writes serialised with this one): the caller applies them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from handlers.ports import Card, ChatPorts, MessageRef, ReactionEvent
from storage import chat, reactions
from storage.db import Database
from storage.models import MessageLink

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Posted:
    ref: MessageRef
    link: MessageLink
    # Reactions given to the message before it was linked, oldest first, to be applied now.
    early_reactions: list[ReactionEvent] = field(default_factory=list)


def failure_reason(exc: Exception) -> str:
    """A short reason to show where a post is pending: the platform's error code if it has one."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:120]


class Posting:
    def __init__(self, db: Database, ports: ChatPorts, clock: Callable[[], float]) -> None:
        self.db = db
        self.ports = ports
        self.clock = clock

    async def post_once(
        self,
        key: str,
        link: MessageLink,
        card: Card,
        *,
        reactions: tuple[str, ...] = (),
        thread_id: str | None = None,
    ) -> Posted | None:
        """Post `card` under `key` unless it was posted before; None when the send failed (the
        failure is recorded on the delivery and the sweeper tries again). `link` says what the
        message is about; its message id is filled in here."""
        # Two callers with one key (an item finishing while the sweeper runs, here or in another
        # process on the database) take turns, so the second finds the first's message recorded
        # instead of asking the platform too early, and posting it again.
        async with self.db.exclusive(f"delivery:{key}"):
            return await self._post_once(key, link, card, reactions, thread_id)

    async def _post_once(
        self,
        key: str,
        link: MessageLink,
        card: Card,
        reactions: tuple[str, ...],
        thread_id: str | None,
    ) -> Posted | None:
        port = self.ports.get(link.platform)
        async with self.db.transaction() as conn:
            reserved = await chat.reserve_delivery(
                conn, key, platform=link.platform, channel_id=link.channel_id, now=self.clock()
            )
        if reserved.message_id is not None:
            ref = MessageRef(link.platform, link.channel_id, reserved.message_id)
            return Posted(ref, _with_id(link, ref.message_id))
        try:
            found = None
            if reserved.attempts > 1:
                found = await port.find_sent(link.channel_id, key, thread_id=thread_id)
            ref = found or await port.send(
                link.channel_id,
                card,
                thread_id=thread_id,
                idempotency_key=key,
                reactions=reactions,
            )
        except Exception as exc:
            log.warning("posting %s failed: %s", key, exc)
            async with self.db.transaction() as conn:
                await chat.complete_delivery(conn, key, None, error=failure_reason(exc))
            return None
        return await self.record_link(_with_id(link, ref.message_id), ref, delivery_key=key)

    async def record_link(
        self, link: MessageLink, ref: MessageRef, *, delivery_key: str | None = None
    ) -> Posted:
        """Remember what a posted message is about (and that its keyed delivery is done), and
        take the reactions that reached it before this."""
        async with self.db.transaction() as conn:
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
            rows = await reactions.take_early_reactions(
                conn, link.platform, link.channel_id, link.message_id
            )
        return Posted(ref, link, [_early_event(link, row) for row in rows])


def message_link(
    kind: str,
    platform: str,
    channel_id: str,
    *,
    now: float,
    plan_id: int | None = None,
    post_id: int | None = None,
    run_id: int | None = None,
    rev: int | None = None,
) -> MessageLink:
    """What a message about to be posted is about; its id is filled in once it exists."""
    return MessageLink(
        platform=platform,
        channel_id=channel_id,
        message_id="",
        kind=kind,
        plan_id=plan_id,
        post_id=post_id,
        run_id=run_id,
        rev=rev,
        created_at=now,
    )


def _with_id(link: MessageLink, message_id: str) -> MessageLink:
    return replace(link, message_id=message_id)


def _early_event(link: MessageLink, row: dict[str, object]) -> ReactionEvent:
    return ReactionEvent(
        link.platform,
        link.channel_id,
        link.message_id,
        str(row["user_id"]),
        str(row["action"]),
        bool(row["added"]),
        emoji=str(row["emoji"]),
    )
