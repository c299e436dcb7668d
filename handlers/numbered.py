"""A post as people in a channel name it: by its number in their workspace."""

from __future__ import annotations

from handlers.deps import Deps
from handlers.ports import UserError
from storage import posts
from storage.models import Place, Post


async def numbered_post(deps: Deps, number: int, place: Place) -> Post:
    """The post this channel calls `number`; one elsewhere reads as no post, so a refusal never
    tells that it exists in another channel or workspace."""
    post = await posts.post_numbered(deps.db.reader, number, place)
    if post is None:
        newest = await posts.recent_post_numbers(deps.db.reader, 1, place=place)
        hint = f" The newest here is post {newest[0]}." if newest else " No posts here yet."
        raise UserError(f"there is no post {number} here.{hint}")
    return post
