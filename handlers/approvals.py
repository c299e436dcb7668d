"""Reactions on drafts and plan cards, and publishing.

Approval state is recomputed from the stored reaction history each time, so a repeated event
changes nothing. Only approvers' reactions count, never the bot's, and not the proposer's own
unless `ALLOW_SELF_APPROVAL` is on. A new revision (regeneration or a thread note) voids
earlier approvals: reactions are stored against the revision they were given to.
"""

from __future__ import annotations

import logging

from aiosqlite import Connection

from handlers.commands import RunPlan
from handlers.deps import Deps
from handlers.planning import start_run
from handlers.ports import APPROVE, REGENERATE, REJECT, Card, Invocation, ReactionEvent, Section
from handlers.spending import reserve_revision
from handlers.turns import log_bot_turn
from pipeline.publisher import Bundle, PublishError
from pipeline.spec import FORMATS
from storage import chat, plans, posts, steps
from storage.models import MessageLink, Post

log = logging.getLogger(__name__)


def may_approve(deps: Deps, user_id: str, proposer: str) -> bool:
    if user_id not in deps.rules.approvers:
        return False
    return deps.rules.allow_self_approval or user_id != proposer


async def handle_reaction(deps: Deps, event: ReactionEvent) -> bool:
    """Apply a reaction; False when the message is not (yet) one the bot knows."""
    link = await chat.find_message(
        deps.db.reader, event.platform, event.channel_id, event.message_id
    )
    if link is None:
        return False
    if link.kind == "plan_card":
        await _on_plan_card(deps, event, link)
    elif link.kind == "draft" and link.post_id is not None:
        await _on_draft(deps, event, link)
    return True


async def _on_plan_card(deps: Deps, event: ReactionEvent, link: MessageLink) -> None:
    if event.action != APPROVE or not event.added or event.user_id not in deps.rules.approvers:
        return
    inv = Invocation(event.platform, event.channel_id, event.user_id)
    assert link.plan_id is not None
    await start_run(deps, inv, RunPlan(link.plan_id), from_reaction=True)


async def _on_draft(deps: Deps, event: ReactionEvent, link: MessageLink) -> None:
    assert link.post_id is not None
    post = await posts.get_post(deps.db.reader, link.post_id)
    plan = await plans.get_plan(deps.db.reader, link.plan_id or 0)
    if post is None or plan is None or link.rev != post.rev:
        return  # a reaction on an older revision's message does not count
    counted = may_approve(deps, event.user_id, plan.proposer)
    publish = regenerate = False
    async with deps.db.transaction() as conn:
        await chat.add_reaction(
            conn,
            post_id=post.id,
            plan_id=None,
            rev=post.rev,
            user_id=event.user_id,
            action=event.action,
            added=event.added,
            counted=counted,
            now=deps.clock(),
        )
        if not counted:
            return
        fresh = await posts.get_post(conn, post.id)
        if fresh is None or fresh.rev != link.rev:
            return  # a concurrent copy of this event already started a new revision
        approvers = await chat.active_reactors(conn, post.id, post.rev, APPROVE)
        if event.action == APPROVE and fresh.status == "awaiting_approval":
            if len(approvers) >= deps.rules.approvals_required:
                await posts.set_status(
                    conn, post.id, "approved", now=deps.clock(), by_user=event.user_id
                )
                publish = True
        elif event.action == APPROVE and not event.added and fresh.status == "approved":
            if len(approvers) < deps.rules.approvals_required:
                await posts.set_status(
                    conn, post.id, "awaiting_approval", now=deps.clock(), by_user=event.user_id
                )
        elif event.action == REJECT and event.added and fresh.status == "awaiting_approval":
            await posts.set_status(
                conn, post.id, "rejected", now=deps.clock(), by_user=event.user_id
            )
        elif (
            event.action == REGENERATE
            and event.added
            and fresh.status
            in (
                "awaiting_approval",
                "rejected",
                "failed",
            )
        ):
            await new_item_revision(deps, conn, fresh, note=None)
            regenerate = True
    if publish:
        await publish_post(deps, post.id)
    if regenerate:
        await deps.queue.enqueue(post.run_id)


async def new_item_revision(deps: Deps, conn: Connection, post: Post, *, note: str | None) -> int:
    """Start a new revision of one item: its steps run again; earlier approvals no longer count."""
    await reserve_revision(deps, conn, post, note)  # refused: the transaction writes nothing
    rev = await posts.new_revision(conn, post.id, now=deps.clock())
    for position, name in enumerate(FORMATS[post.content_format].steps):
        await steps.add_step(
            conn,
            name=name,
            position=position,
            run_id=post.run_id,
            post_id=post.id,
            post_rev=rev,
            inputs={"note": note} if name == "draft" and note else None,
        )
    await plans.requeue(conn, post.run_id)
    return rev


async def publish_post(deps: Deps, post_id: int) -> None:
    """Publish an approved post. Safe to call again: the idempotency key stays the same, and a
    call while the same post is being published (an approval racing the start-up catch-up)
    leaves it to the one under way."""
    if post_id in deps.publishing:
        return
    deps.publishing.add(post_id)
    try:
        await _publish(deps, post_id)
    finally:
        deps.publishing.discard(post_id)


async def _publish(deps: Deps, post_id: int) -> None:
    post = await posts.get_post(deps.db.reader, post_id)
    if post is None or post.status != "approved":
        return
    key = f"draftroom-post-{post.id}-rev-{post.rev}"
    plan = await plans.get_plan(deps.db.reader, post.plan_id)
    revision = await plans.get_revision(deps.db.reader, post.plan_id, post.plan_rev)
    assert plan is not None and revision is not None
    post_steps = await steps.steps_of_post(deps.db.reader, post.id, post.rev)
    media = [deps.media.path(s.artifact) for s in post_steps if s.artifact and s.status == "done"]
    bundle = Bundle(
        post_id=post.id,
        idempotency_key=key,
        fields={
            "post_id": post.id,
            "persona": post.persona,
            "pillar": post.pillar,
            "content_format": post.content_format,
            "headline": post.headline,
            "body": post.body,
            "caption": post.caption,
            "video_script": post.video_script,
            "plan": revision.text,
            "special_message": revision.special_message,
            "cost_usd": round(sum(s.cost_usd or 0 for s in post_steps), 6),
            "steps": [
                {
                    "name": s.name,
                    "status": s.status,
                    "provider": s.provider,
                    "model": s.model,
                    "artifact": s.artifact,
                    "cost_usd": s.cost_usd,
                    "latency_s": s.latency_s,
                }
                for s in post_steps
            ],
        },
        media=[p for p in media if p.exists()],
    )
    async with deps.db.transaction() as conn:
        await posts.reserve_publication(conn, post.id, key, deps.publisher.name)
    try:
        location = await deps.publisher.publish(bundle)
    except PublishError as exc:
        log.warning("publishing post %d failed: %s", post.id, exc)
        async with deps.db.transaction() as conn:
            news = await posts.note_publication_error(conn, post.id, str(exc))
            if not exc.retryable:
                await posts.set_status(conn, post.id, "failed", now=deps.clock(), error=str(exc))
        if news:
            retry = " It will be tried again." if exc.retryable else ""
            await _announce(deps, post, f"post {post.id} was not published: {exc}.{retry}")
        return
    async with deps.db.transaction() as conn:
        await posts.record_publication(conn, post.id, location, now=deps.clock())
        await posts.set_status(conn, post.id, "published", now=deps.clock())
    await _announce(deps, post, f"post {post.id} is published ({deps.publisher.name}: {location}).")


async def _announce(deps: Deps, post: Post, text: str) -> None:
    """Say it in the draft's thread, and log the turn as a reference to the post."""
    link = await chat.latest_message(deps.db.reader, kind="draft", post_id=post.id)
    if link is None or link.platform not in deps.ports:
        return
    card = Card(title=text, sections=(Section(None, f"/post {post.id} shows its card."),))
    try:
        ref = await deps.port(link.platform).send(link.channel_id, card, thread_id=link.message_id)
    except Exception as exc:
        log.warning("announcing post %d failed: %s", post.id, exc)
        return
    await log_bot_turn(
        deps,
        platform=link.platform,
        channel_id=link.channel_id,
        thread_id=link.message_id,
        message_id=ref.message_id,
        text=text,
        refs=[(post.id, "named")],
    )
