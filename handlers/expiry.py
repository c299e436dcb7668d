"""Drafts not approved in time become `expired`, and their cards say so.

The sweeper expires them (a conditional update: only a post still waiting for approval, so one
being published never expires) and then edits each expired draft's card; which cards are still
to edit is kept in the database, so a crash between the two still edits the card, once.
"""

from __future__ import annotations

import logging

from handlers import cards
from handlers.card_links import linked
from handlers.deps import Deps
from handlers.drafts import images_of
from handlers.ports import MessageRef
from storage import chat, posts
from storage import schedule as times

log = logging.getLogger(__name__)


def expired_note(hours: float) -> str:
    return (
        f"not approved within {hours:g} hours, so it will not be published and ✅ no longer "
        "counts. 🔁 or a reply in this thread makes a new draft to approve."
    )


async def expire_drafts(deps: Deps) -> int:
    """Expire the drafts waiting longer than APPROVAL_EXPIRY_HOURS and edit the cards that do
    not say so yet. How many expired now."""
    hours, now = deps.rules.approval_expiry_hours, deps.clock()
    async with deps.db.transaction() as conn:
        expired = await times.expire_waiting(conn, waiting_since=now - hours * 3600, now=now)
    for platform in {post.platform for post in expired}:
        deps.ports.queues_changed(platform)
    for post_id, rev in await times.unedited_expiries(deps.db.reader):
        await _say_so_on_card(deps, post_id, rev)
    return len(expired)


async def _say_so_on_card(deps: Deps, post_id: int, rev: int) -> None:
    post = await posts.get_post(deps.db.reader, post_id)
    link = await chat.latest_message(deps.db.reader, kind="draft", post_id=post_id)
    if post is not None and link is not None and link.rev == rev == post.rev:
        if link.platform not in deps.ports:
            return  # its platform is not connected now: a later sweep edits it
        note = expired_note(deps.rules.approval_expiry_hours)
        card = cards.draft_card(post, await images_of(deps, post), expired=note)
        card = await linked(deps.links, card, post.place, [("post", post.id, post.number)])
        ref = MessageRef(link.platform, link.channel_id, link.message_id)
        try:
            await deps.port(link.platform).edit(ref, card)
        except Exception as exc:
            log.warning("saying on post %d's card that it expired failed: %s", post_id, exc)
            return
    # Edited, or nothing left to edit (never posted, or revised since it expired).
    async with deps.db.transaction() as conn:
        await times.card_edited(conn, post_id, rev, now=deps.clock())
