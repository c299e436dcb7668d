"""Publishing an approved post, exactly the revision that was approved, and saying so once.

The post row is the guard: publishing starts by moving it from `approved` to `publishing` in one
write, and the bundle is built from what that write returned. While a post is publishing nothing
can revise it, withdraw its approval or publish it again, so what is recorded as published is
exactly what the destination received, and the card names that revision.

The announcement in the draft's thread is a keyed delivery (`published:<post>:<rev>`) promised in
the transaction that records the publication: if the process dies before it is sent, the
sweeper sends it.
"""

from __future__ import annotations

import logging

from handlers.card_links import linked
from handlers.deps import Deps
from handlers.ports import Card, Section
from handlers.posting import message_link
from handlers.turns import log_bot_turn
from pipeline.publisher import Bundle, PublishError
from storage import chat, plans, posts, publications, steps
from storage.models import Post

log = logging.getLogger(__name__)

ANNOUNCE = "published:"


async def publish_post(deps: Deps, post_id: int) -> None:
    """Publish an approved post. Safe to call again or at the same time: only the call that
    claims the row publishes, and the idempotency key is the same on every retry."""
    async with deps.db.transaction() as conn:
        post = await posts.claim_for_publishing(conn, post_id, now=deps.clock())
        if post is None:
            return
        key = f"draftroom-post-{post.id}-rev-{post.rev}"
        await publications.reserve_publication(
            conn, post.id, key, deps.publisher.name, rev=post.rev
        )
    try:
        bundle = await _bundle(deps, post, key)
        location = await deps.publisher.publish(bundle)
    except PublishError as exc:
        await _failed(deps, post, exc)
        return
    except BaseException:
        async with deps.db.transaction() as conn:  # not published: approved again, retried later
            await posts.set_status(conn, post.id, "approved", now=deps.clock())
        raise
    link = await chat.latest_message(deps.db.reader, kind="draft", post_id=post.id)
    async with deps.db.transaction() as conn:
        await publications.record_publication(conn, post.id, location, now=deps.clock())
        await posts.set_status(conn, post.id, "published", now=deps.clock())
        if link is not None:
            await chat.plan_delivery(
                conn,
                f"{ANNOUNCE}{post.id}:{post.rev}",
                platform=link.platform,
                channel_id=link.channel_id,
                now=deps.clock(),
            )
    await send_announcements(deps)


async def _bundle(deps: Deps, post: Post, key: str) -> Bundle:
    revision = await plans.get_revision(deps.db.reader, post.plan_id, post.plan_rev)
    assert revision is not None
    post_steps = await steps.steps_of_post(deps.db.reader, post.id, post.rev)
    media = [deps.media.path(s.artifact) for s in post_steps if s.artifact and s.status == "done"]
    return Bundle(
        post_id=post.id,
        idempotency_key=key,
        fields={
            "post_id": post.id,
            "revision": post.rev,
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


async def _failed(deps: Deps, post: Post, exc: PublishError) -> None:
    log.warning("publishing post %d failed: %s", post.id, exc)
    status = "approved" if exc.retryable else "failed"
    async with deps.db.transaction() as conn:
        news = await publications.note_publication_error(conn, post.id, str(exc))
        error = None if exc.retryable else str(exc)
        await posts.set_status(conn, post.id, status, now=deps.clock(), error=error)
    if news:
        retry = " It will be tried again." if exc.retryable else ""
        await _say_in_thread(deps, post.id, f"post {post.id} was not published: {exc}.{retry}")


async def send_announcements(deps: Deps) -> None:
    """Send every promised "published" announcement not yet recorded as sent."""
    for key in await chat.unsent_deliveries(deps.db.reader, ANNOUNCE):
        post_id = int(key[len(ANNOUNCE) :].split(":", 1)[0])
        done = await publications.publication(deps.db.reader, post_id)
        link = await chat.latest_message(deps.db.reader, kind="draft", post_id=post_id)
        if done is None or done.published_at is None or link is None:
            continue
        if link.platform not in deps.ports:
            continue
        text = (
            f"post {post_id} is published ({deps.publisher.name}: {done.location}), "
            f"revision {done.rev}."
        )
        card = Card(title=text, sections=(Section(None, f"/post {post_id} shows its card."),))
        card = await linked(deps.links, card, link.place, [("post", post_id)])
        notice = message_link("notice", link.platform, link.channel_id, now=deps.clock())
        posted = await deps.posting.post_once(key, notice, card, thread_id=link.message_id)
        if posted is not None:
            await log_bot_turn(
                deps, posted.ref, text, thread_id=link.message_id, refs=[(post_id, "named")]
            )


async def _say_in_thread(deps: Deps, post_id: int, text: str) -> None:
    """Say it in the draft's thread, and log the turn as a reference to the post."""
    link = await chat.latest_message(deps.db.reader, kind="draft", post_id=post_id)
    if link is None or link.platform not in deps.ports:
        return
    card = Card(title=text, sections=(Section(None, f"/post {post_id} shows its card."),))
    card = await linked(deps.links, card, link.place, [("post", post_id)])
    try:
        ref = await deps.port(link.platform).send(link.channel_id, card, thread_id=link.message_id)
    except Exception as exc:
        log.warning("announcing post %d failed: %s", post_id, exc)
        return
    await log_bot_turn(deps, ref, text, thread_id=link.message_id, refs=[(post_id, "named")])
