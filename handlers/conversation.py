"""Replies in a thread: a turn of the conversation about the plan or draft the thread hangs from.

A reply under a plan card refines the plan (a new revision). A reply under a draft card revises
that draft: a new revision of the item with the reply as the note, which voids its approvals.
Other messages are ignored.
"""

from __future__ import annotations

from handlers import permissions
from handlers.approvals import REVISABLE, new_item_revision
from handlers.commands import Refine
from handlers.deps import Deps
from handlers.parsing import clean
from handlers.planning import refine
from handlers.ports import Card, Invocation, Section, ThreadMessage, UserError
from handlers.turns import log_user_turn, say
from storage import chat, plans, posts
from storage.models import Post


async def handle_thread_message(deps: Deps, message: ThreadMessage) -> bool:
    """Take a thread reply as a turn; False when the thread is not one the bot knows (yet)."""
    link = await chat.find_message(
        deps.db.reader, message.platform, message.channel_id, message.thread_id
    )
    if link is None or link.kind not in ("plan_card", "draft"):
        return False
    text = clean(message.text)
    inv = Invocation(
        message.platform,
        message.channel_id,
        message.user_id,
        thread_id=message.thread_id,
        message_id=message.message_id,
        workspace=message.workspace,
    )
    if not text:
        return True
    if len(text) > deps.rules.max_text_chars:
        raise UserError(
            f"that reply is {len(text)} characters; a note takes at most "
            f"{deps.rules.max_text_chars}. Shorten it."
        )
    if link.kind == "plan_card" and link.plan_id is not None:
        plan = await plans.get_plan(deps.db.reader, link.plan_id)
        if plan is None:
            return True
        if not await permissions.may_change(deps, inv.who, plan):
            await _tell(deps, inv, permissions.change_refusal(plan))
            return True
        await refine(deps, inv, Refine(plan.number, text))
    elif link.post_id is not None:
        await _revise_draft(deps, inv, link.post_id, text)
    return True


async def _revise_draft(deps: Deps, inv: Invocation, post_id: int, note: str) -> None:
    post = await posts.get_post(deps.db.reader, post_id)
    plan = await plans.get_plan(deps.db.reader, post.plan_id) if post else None
    if post is None or plan is None:
        return
    if not await permissions.may_change(deps, inv.who, plan):
        await _tell(deps, inv, permissions.change_refusal(plan))
        return
    # The status is checked in the transaction that starts the revision: a post that was
    # approved a moment ago is being published, and must stay exactly what was approved.
    async with deps.db.transaction() as conn:
        fresh = await posts.get_post(conn, post_id)
        if fresh is None or fresh.status not in REVISABLE:
            raise UserError(_not_revisable(fresh or post))
        rev = await new_item_revision(deps, conn, fresh, note=note, author=inv.who)
    await log_user_turn(deps, inv, note)
    card = Card(
        title=f"Revising post {post.number} (draft {rev}) with your note.",
        sections=(
            Section(None, "The new draft is posted when it is ready; earlier ✅ no longer count."),
        ),
    )
    assert inv.thread_id is not None
    await say(
        deps,
        inv.platform,
        inv.channel_id,
        card,
        thread_id=inv.thread_id,
        refs=[(post.id, "refined")],
    )
    await deps.queue.enqueue(post.run_id)


def _not_revisable(post: Post) -> str:
    why = {
        "published": "is already published",
        "drafting": "is being drafted",
        "approved": f"is approved (revision {post.rev}) and goes out exactly as approved",
        "publishing": f"is being published as approved (revision {post.rev})",
    }.get(post.status, f"is {post.status.replace('_', ' ')}")
    return f"post {post.number} {why}; a reply cannot revise it now."


async def _tell(deps: Deps, inv: Invocation, text: str) -> None:
    """A private answer to the person in the thread: why nothing happened."""
    await deps.port(inv.platform).notify(
        inv.channel_id, inv.user_id, f"⚠️ {text}", thread_id=inv.thread_id
    )
