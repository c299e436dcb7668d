"""Draft cards: each finished item posted once as its own message, and the sweeper that posts
any a failed send or a crash left unposted."""

from __future__ import annotations

from pathlib import Path

from handlers import cards
from handlers.approvals import replay_early_reactions
from handlers.card_links import linked
from handlers.deps import Deps
from handlers.outgoing import PICTURES
from handlers.ports import ACTION_EMOJI, APPROVE, REGENERATE, REJECT
from handlers.posting import message_link
from handlers.workspace_publishing import drafts_channel
from storage import plans, posts, steps, variants
from storage.models import Post

DRAFT_REACTIONS = tuple(ACTION_EMOJI[a] for a in (APPROVE, REJECT, REGENERATE))


async def deliver_item(deps: Deps, post: Post) -> None:
    """Post the item's draft card (or its failure, offering only 🔁) unless it was posted."""
    if post.platform not in deps.ports:
        return
    reactions: tuple[str, ...]
    if post.status == "failed":
        card, reactions = cards.failed_item_card(post), (ACTION_EMOJI[REGENERATE],)
    else:
        fitted = await variants.variants_of(deps.db.reader, post.id, post.rev)
        card = cards.draft_card(post, await images_of(deps, post), variants=fitted)
        reactions = DRAFT_REACTIONS
    card = await linked(deps.links, card, post.place, [("post", post.id, post.number)])
    plan = await plans.get_plan(deps.db.reader, post.plan_id)
    channel = await drafts_channel(deps, plan.workspace if plan else None, post.channel_id)
    link = message_link(
        "draft",
        post.platform,
        channel,
        now=deps.clock(),
        plan_id=post.plan_id,
        post_id=post.id,
        run_id=post.run_id,
        rev=post.rev,
    )
    posted = await deps.posting.post_once(
        f"draft:{post.id}:{post.rev}", link, card, reactions=reactions
    )
    if posted is not None:
        deps.ports.queues_changed(post.platform)
    if posted is None:
        deps.progress.changed(post.run_id)  # the progress message says it is pending
    elif posted.early_reactions:
        await replay_early_reactions(deps, posted.link, posted.early_reactions)


async def images_of(deps: Deps, post: Post) -> list[Path]:
    """What a draft shows: the hero-text card, else the hero image or the poster; and a video
    post's clip after it (Discord attaches and plays it under its poster, Slack puts it in the
    draft's thread; a clip over a platform's upload limit is left out, saying so)."""
    if post.content_format == "text":
        return []
    by_name = {
        s.name: s.artifact
        for s in await steps.steps_of_post(deps.db.reader, post.id, post.rev)
        if s.artifact and s.status == "done"
    }
    shown = [deps.media.path(str(by_name[n])) for n in PICTURES if by_name.get(n)][:1]
    if by_name.get("video_clip"):
        shown.append(deps.media.path(str(by_name["video_clip"])))
    return shown


async def sweep(deps: Deps) -> int:
    """Post every finished draft whose card is not recorded as posted. Returns how many."""
    waiting = await posts.posts_needing_delivery(deps.db.reader)
    for post in waiting:
        await deliver_item(deps, post)
    return len(waiting)


class RunEvents:
    """What the chat side does as a run moves on (the pipeline's observer)."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def run_progress(self, run_id: int) -> None:
        self.deps.progress.changed(run_id)

    async def item_finished(self, post_id: int) -> None:
        post = await posts.get_post(self.deps.db.reader, post_id)
        if post is not None:
            await deliver_item(self.deps, post)

    async def run_finished(self, run_id: int) -> None:
        self.deps.progress.changed(run_id)
