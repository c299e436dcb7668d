"""Publishing an approved post to every destination of its persona, exactly the revision that
was approved, never twice anywhere, and saying so once.

The rows are the guards. The post moves from `approved` to `publishing` in one write and stays
there until every destination is settled, so nothing can revise it or withdraw its approval
meanwhile. Each destination has a row of its own (storage/publication_targets.py) claimed by a
conditional update, with an idempotency key fixed when the row is made: a crash, a restart or
two callers at once can only retry a destination with the same key, and the destination finds
what an earlier try made before making anything. A destination that fails for good does not
stop the others; one that fails for now is tried again by the sweeper, later each time, and
given up after MAX_ATTEMPTS.

When all are settled the post is `published` (or `failed`, when none took it) and the
announcement in the draft's thread is a keyed delivery promised in that same transaction.
"""

from __future__ import annotations

import dataclasses
import logging

from handlers.announcements import ANNOUNCE, say_in_thread, send_announcements
from handlers.deps import Deps
from handlers.outgoing import bundle_of, outgoing_of
from pipeline.destinations.base import DestinationError
from pipeline.destinations.outlets import Outlet
from pipeline.publisher import PublishError
from storage import chat, plans, posts, publications
from storage import publication_targets as targets
from storage.models import Post
from storage.publication_targets import Target

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
RETRY_BASE_S = 30.0
RETRY_MAX_S = 3600.0

__all__ = ["publish_post", "publish_soon", "send_announcements"]


async def publish_soon(deps: Deps, post_id: int) -> None:
    """Publish an approved post: as a job where the queue has jobs (PostgreSQL: a worker
    publishes it), else here and now."""
    if not await deps.queue.defer_publication(post_id):
        await publish_post(deps, post_id)


async def publish_post(deps: Deps, post_id: int) -> None:
    """Publish an approved post, or go on publishing one whose destinations are not all settled.
    Safe to call again or at the same time: each destination is claimed by one caller only."""
    found = await posts.get_post(deps.db.reader, post_id)
    plan = await plans.get_plan(deps.db.reader, found.plan_id) if found else None
    if found is None or plan is None:
        return
    # Where the post's workspace publishes the persona (read before the write: it may read
    # the workspace's own destinations).
    outlets = await deps.outlets.of_workspace(found.persona, plan.workspace)
    async with deps.db.transaction() as conn:
        post = await posts.claim_for_publishing(conn, post_id, now=deps.clock())
        if post is None:
            post = await posts.get_post(conn, post_id)
            if post is None or post.status != "publishing":
                return
        planned = [(o.kind, o.name, o.key(post.id, post.rev)) for o in outlets]
        await targets.plan_targets(conn, post.id, post.rev, planned, now=deps.clock())
        summary = ", ".join(o.kind for o in outlets)
        await publications.reserve_publication(
            conn, post.id, outlets[0].key(post.id, post.rev), summary, rev=post.rev
        )
    for outlet in outlets:
        await _publish_to(deps, post, outlet, alone=len(outlets) == 1)
    await _settle(deps, post)


async def _publish_to(deps: Deps, post: Post, outlet: Outlet, *, alone: bool) -> None:
    async with deps.db.transaction() as conn:
        target = await targets.claim_target(
            conn, post.id, post.rev, outlet.kind, now=deps.clock(), owner=deps.process
        )
    if target is None:
        return  # settled, not due, or another caller has it
    try:
        remote_id, url = await _send(deps, post, outlet, target)
    except (DestinationError, PublishError) as exc:
        await _failed(deps, post, outlet, target, exc, alone=alone)
        return
    except Exception as exc:  # a bug of ours or a client's: counted like any failure, never a loop
        log.exception("publishing post %d to %s broke", post.id, outlet.name)
        unexpected = DestinationError(
            f"unexpected error ({type(exc).__name__})", retryable=True, unknown=True
        )
        await _failed(deps, post, outlet, target, unexpected, alone=alone)
        return
    except BaseException:
        async with deps.db.transaction() as conn:  # cut off: pending again, same key
            await targets.record_failure(
                conn, target, "interrupted", retry_at=deps.clock(), now=deps.clock()
            )
        raise
    async with deps.db.transaction() as conn:
        await targets.record_published(conn, target, remote_id, url, now=deps.clock())


async def _send(deps: Deps, post: Post, outlet: Outlet, target: Target) -> tuple[str, str]:
    """Publish to one outlet; (the network's id, where to read it)."""
    if outlet.network is not None:
        out = await outgoing_of(deps, post, target.idempotency_key, outlet.kind)
        if out.video is not None:  # the clip where the network takes video, else its poster
            takes_video = (await outlet.network.limits()).video
            out = (
                dataclasses.replace(out, images=())
                if takes_video
                else dataclasses.replace(out, video=None)
            )
        placed = await outlet.network.publish(out)
        return placed.remote_id, placed.url
    assert outlet.publisher is not None
    location = await outlet.publisher.publish(await bundle_of(deps, post, target.idempotency_key))
    return location, location


async def _failed(
    deps: Deps,
    post: Post,
    outlet: Outlet,
    target: Target,
    exc: DestinationError | PublishError,
    *,
    alone: bool,
) -> None:
    log.warning("publishing post %d to %s failed: %s", post.id, outlet.name, exc)
    again = exc.retryable and target.attempts < MAX_ATTEMPTS
    wait = min(RETRY_BASE_S * 2 ** (target.attempts - 1), RETRY_MAX_S)
    error = str(exc) if again or not exc.retryable else f"{exc} (gave up after {target.attempts})"
    async with deps.db.transaction() as conn:
        news = await targets.record_failure(
            conn,
            target,
            error,
            retry_at=deps.clock() + wait if again else None,
            now=deps.clock(),
        )
        await publications.note_publication_error(conn, post.id, error)
    if news:
        where = "" if alone else f" to {outlet.name}"
        after = " It will be tried again." if again else ""
        await say_in_thread(
            deps, post.id, f"post {post.number} was not published{where}: {error}.{after}"
        )


async def _settle(deps: Deps, post: Post) -> None:
    """Once every destination is settled: published (or failed when none took it), recorded
    and announced once."""
    found = await targets.targets_of(deps.db.reader, post.id, post.rev)
    if not found or not all(t.settled for t in found):
        return
    live = [t for t in found if t.state == "published"]
    link = await chat.latest_message(deps.db.reader, kind="draft", post_id=post.id)
    async with deps.db.transaction() as conn:
        status = "published" if live else "failed"
        error = None if live else "; ".join(f"{t.name}: {t.last_error}" for t in found)
        if not await posts.finish_publishing(conn, post.id, status, now=deps.clock(), error=error):
            return  # another caller settled it
        if live:
            location = ", ".join(t.url or t.name for t in live) if len(found) > 1 else live[0].url
            await publications.record_publication(conn, post.id, location or "", now=deps.clock())
            if link is not None:
                await chat.plan_delivery(
                    conn,
                    f"{ANNOUNCE}{post.id}:{post.rev}",
                    platform=link.platform,
                    channel_id=link.channel_id,
                    now=deps.clock(),
                )
    deps.ports.queues_changed(post.platform)
    await send_announcements(deps)
