"""What a destination receives for a post: the install's publisher gets the whole bundle (the
post's fields, plan and steps, with its media); a network gets the text and media it shows."""

from __future__ import annotations

from handlers.deps import Deps
from handlers.post_page import content_type
from pipeline.destinations.base import Image, Outgoing
from pipeline.publisher import Bundle
from storage import plans, steps, variants
from storage.models import Post, Step

# The picture a post shows: its hero-text card, else its hero image, else its clip's poster.
PICTURES = ("hero_card", "hero_image", "poster_frame")


async def _done_steps(deps: Deps, post: Post) -> list[Step]:
    return await steps.steps_of_post(deps.db.reader, post.id, post.rev)


async def bundle_of(deps: Deps, post: Post, key: str) -> Bundle:
    revision = await plans.get_revision(deps.db.reader, post.plan_id, post.plan_rev)
    assert revision is not None
    post_steps = await _done_steps(deps, post)
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


async def outgoing_of(deps: Deps, post: Post, key: str, kind: str) -> Outgoing:
    """The caption, or the one fitted to this destination kind when the draft was made (what
    the approver saw on the draft); the post's picture (the hero-text card, else the hero
    image, else the clip's poster) with the headline as its alt text; and the clip of a video
    post."""
    by_name = {
        s.name: deps.media.path(s.artifact)
        for s in await _done_steps(deps, post)
        if s.artifact and s.status == "done"
    }
    picture = next((by_name[n] for n in PICTURES if n in by_name), None)
    alt = post.headline or post.caption[:200]
    images = () if picture is None else (Image(picture, alt, content_type(picture.name)),)
    fitted = await variants.variants_of(deps.db.reader, post.id, post.rev)
    return Outgoing(
        post_id=post.id,
        rev=post.rev,
        key=key,
        text=fitted.get(kind, post.caption),
        created_at=post.created_at,
        images=images,
        video=by_name.get("video_clip"),
    )
