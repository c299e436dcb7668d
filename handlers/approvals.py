"""Reactions on drafts and plan cards.

Approval state is recomputed from the stored reaction history each time, so a repeated event
changes nothing. History is kept per person and emoji: an approval is one per person per
revision, whatever alias they used, and is withdrawn only when none of their approving emoji
remain. Who counts is decided in `handlers.permissions`. A new revision (🔁 or a thread note)
voids earlier approvals: reactions are stored against the revision they were given to.

A reaction that arrives while its draft is still being posted (before the message is linked) is
stashed in the same write transaction that looks for the link, and applied when the link is
recorded, so it can never fall between the two.
"""

from __future__ import annotations

import logging

from handlers import permissions, scheduling
from handlers.announcements import say_in_thread
from handlers.commands import RunPlan
from handlers.deps import Deps, Rules
from handlers.planning import start_run
from handlers.ports import (
    APPROVE,
    REGENERATE,
    REJECT,
    Invocation,
    ReactionEvent,
    emoji_action,
    emoji_name,
    qualified_id,
)
from handlers.publishing import publish_soon
from handlers.workspace_settings import rules_for
from pipeline.spec import FORMATS
from storage import chat, plans, posts, reactions, steps
from storage.db import Connection
from storage.models import MessageLink, Plan, Post

log = logging.getLogger(__name__)

REVISABLE = ("awaiting_approval", "rejected", "failed", "expired")


async def handle_reaction(deps: Deps, event: ReactionEvent) -> bool:
    """Apply a reaction, or keep it until its message is linked. Always True: nothing is left
    for a redelivery to do."""
    where = (event.platform, event.channel_id, event.message_id)
    link = await chat.find_message(deps.db.reader, *where)  # the usual case: no write needed
    if link is not None:
        await apply_reaction(deps, event, link)
        return True
    async with deps.db.transaction() as conn:
        # Looked for again with the stash, in the writes serialised with the link's own.
        link = await chat.find_message(conn, *where)
        if link is None:
            await reactions.stash_early_reaction(
                conn,
                platform=event.platform,
                channel_id=event.channel_id,
                message_id=event.message_id,
                user_id=event.user_id,
                emoji=event.emoji_key,
                action=event.action,
                added=event.added,
                now=deps.clock(),
            )
            return True
    await apply_reaction(deps, event, link)
    return True


async def apply_reaction(deps: Deps, event: ReactionEvent, link: MessageLink) -> None:
    if link.kind == "plan_card" and link.plan_id is not None:
        await _on_plan_card(deps, event, link.plan_id)
    elif link.kind == "draft" and link.post_id is not None:
        await _on_draft(deps, event, link)


async def replay_early_reactions(deps: Deps, link: MessageLink, early: list[ReactionEvent]) -> None:
    """Reactions stashed before `link` existed, applied in the order they arrived."""
    for event in early:
        try:
            await apply_reaction(deps, event, link)
        except Exception:
            log.exception("applying an early reaction on %s failed", link.message_id)


async def _on_plan_card(deps: Deps, event: ReactionEvent, plan_id: int) -> None:
    if event.action != APPROVE or not event.added:
        return
    plan = await plans.get_plan(deps.db.reader, plan_id)
    if plan is None or not (await rules_for(deps, plan.workspace)).roles.is_approver(event.who):
        return
    inv = Invocation(event.platform, event.channel_id, event.user_id, workspace=plan.workspace)
    await start_run(deps, inv, RunPlan(plan.number), from_reaction=True)


async def _counts(deps: Deps, event: ReactionEvent, post: Post, plan: Plan) -> str | None:
    """Why this reaction does not count, or None when it does."""
    if event.action == APPROVE:
        refusal = await permissions.approval_refusal(deps, event.who, post, plan)
        if refusal is None and post.status == "expired":
            return scheduling.expired_refusal(deps.rules.approval_expiry_hours)
        return refusal
    if event.action == REJECT:
        roles = (await rules_for(deps, plan.workspace)).roles
        return None if roles.is_approver(event.who) else permissions.NOT_AN_APPROVER
    if await permissions.may_change(deps, event.who, plan):
        return None
    return "only the plan's proposer, the approvers and the editors can regenerate it"


async def _on_draft(deps: Deps, event: ReactionEvent, link: MessageLink) -> None:
    assert link.post_id is not None
    post = await posts.get_post(deps.db.reader, link.post_id)
    plan = await plans.get_plan(deps.db.reader, link.plan_id or 0)
    if post is None or plan is None or link.rev != post.rev:
        return  # a reaction on an older revision's message does not count
    refusal = await _counts(deps, event, post, plan)
    rules = await rules_for(deps, plan.workspace)  # read before the write lock is taken
    publish = regenerate = False
    moved: str | None = None  # said in the thread when a late approval moved the post's time
    async with deps.db.transaction() as conn:
        await reactions.add_reaction(
            conn,
            post_id=post.id,
            plan_id=None,
            rev=post.rev,
            user_id=event.who,
            action=event.action,
            added=event.added,
            counted=refusal is None,
            now=deps.clock(),
            emoji=event.emoji_key,
        )
        fresh = await posts.get_post(conn, post.id)
        if refusal is None and fresh is not None and fresh.rev == link.rev:
            publish, regenerate = await _decide(deps, rules, conn, event, fresh)
            if publish:
                moved = await scheduling.hold_for_lead_time(deps, conn, fresh)
    deps.ports.queues_changed(post.platform)
    if refusal is not None and event.added:
        await _explain_once(deps, event, post, refusal)
    if moved is not None:
        await say_in_thread(deps, post.id, moved)
    if publish:
        await publish_soon(deps, post.id)
    if regenerate:
        await deps.queue.enqueue(post.run_id)


async def _decide(
    deps: Deps, rules: Rules, conn: Connection, event: ReactionEvent, post: Post
) -> tuple[bool, bool]:
    """Move the post on, inside the transaction that stored the reaction. (publish, regenerate)"""
    roles = rules.roles
    approvers = {
        roles.person(u) for u in await reactions.active_reactors(conn, post.id, post.rev, APPROVE)
    }
    enough = len(approvers) >= rules.approvals_required
    now, by = deps.clock(), event.who
    if event.action == APPROVE and post.status == "awaiting_approval" and enough:
        await posts.set_status(conn, post.id, "approved", now=now, by_user=by)
        return True, False
    if event.action == APPROVE and post.status == "approved" and not enough:
        await posts.set_status(conn, post.id, "awaiting_approval", now=now, by_user=by)
    elif event.action == REJECT and event.added and post.status == "awaiting_approval":
        await posts.set_status(conn, post.id, "rejected", now=now, by_user=by)
    elif event.action == REGENERATE and event.added and post.status in REVISABLE:
        await new_item_revision(deps, conn, post, note=None, author=by)
        return False, True
    return False, False


async def _explain_once(deps: Deps, event: ReactionEvent, post: Post, why: str) -> None:
    """Tell someone privately why their reaction changed nothing: once per person and post."""
    async with deps.db.transaction() as conn:
        first = await chat.first_sighting(
            conn, "notice", f"{post.id}:{event.who}", now=deps.clock()
        )
    if not first or event.platform not in deps.ports:
        return
    text = f"Your {event.emoji or event.action} on post {post.number} does not count: {why}."
    try:
        await deps.port(event.platform).notify(
            event.channel_id, event.user_id, text, thread_id=event.message_id
        )
    except Exception as exc:
        log.warning("telling %s why their reaction did not count failed: %s", event.who, exc)


async def new_item_revision(
    deps: Deps, conn: Connection, post: Post, *, note: str | None, author: str | None = None
) -> int:
    """Start a new revision of one item: its steps run again; earlier approvals no longer count.
    Whoever wrote the note is recorded on the draft step as an author of the revision."""
    estimate = await deps.pipeline.estimate_revision(post, note)
    # Refused, the transaction writes nothing.
    await deps.pipeline.budget.add_to_run(conn, post.run_id, estimate)
    rev = await posts.new_revision(conn, post.id, now=deps.clock())
    inputs: dict[str, str] = {}
    if note:
        inputs["note"] = note
        if author:
            inputs["author"] = author
    for position, name in enumerate(FORMATS[post.content_format].steps):
        await steps.add_step(
            conn,
            name=name,
            position=position,
            run_id=post.run_id,
            post_id=post.id,
            post_rev=rev,
            inputs=inputs if name == "draft" and inputs else None,
        )
    await plans.requeue(conn, post.run_id)
    return rev


async def reconcile_draft(deps: Deps, link: MessageLink, present: set[tuple[str, str]]) -> None:
    """Apply what changed on a draft while nobody was listening. `present` holds the
    (user id, emoji) pairs on the message now; the stored history says what was last seen on.
    Each difference is applied as the event that was missed, so the usual rules decide."""
    if link.post_id is None or link.rev is None:
        return
    now_on = {
        (qualified_id(link.platform, user), emoji_name(emoji))
        for user, emoji in present
        if emoji_action(emoji) is not None
    }
    seen = await reactions.reactions_on(deps.db.reader, link.post_id, link.rev, counted_only=False)
    was_on = {key for key, (_, on) in seen.items() if on}
    prefix = f"{link.platform}:"
    # Withdrawals first: an approval taken back while away must not count towards a publish.
    changes = [
        (who, emoji, False) for who, emoji in sorted(was_on - now_on) if who.startswith(prefix)
    ]
    changes += [(who, emoji, True) for who, emoji in sorted(now_on - was_on)]
    for who, emoji, added in changes:
        action = emoji_action(emoji) or seen.get((who, emoji), (None, False))[0]
        if action is None:
            continue
        event = ReactionEvent(
            link.platform,
            link.channel_id,
            link.message_id,
            who[len(prefix) :],
            action,
            added,
            emoji=emoji,
        )
        await _on_draft(deps, event, link)
