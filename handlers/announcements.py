"""What the draft's thread reads about publishing: the one "published" announcement (a promised
delivery, sent by the sweeper if a crash came first) and the notes when a destination fails."""

from __future__ import annotations

import logging

from handlers.card_links import linked
from handlers.deps import Deps
from handlers.ports import Card, Section
from handlers.posting import message_link
from handlers.turns import log_bot_turn
from storage import chat, posts, publications
from storage import publication_targets as targets
from storage.publication_targets import Target

log = logging.getLogger(__name__)

ANNOUNCE = "published:"


def published_text(number: int, rev: int, found: list[Target]) -> str:
    live = [t for t in found if t.state == "published"]
    if len(found) == 1:
        target = found[0]
        return f"post {number} is published ({target.destination}: {target.url}), revision {rev}."
    places = ", ".join(f"{t.name} ({t.url})" for t in live)
    text = f"post {number} is published, revision {rev}: {places}"
    missed = [t for t in found if t.state != "published"]
    if missed:
        text += "; not on " + ", ".join(f"{t.name} ({t.last_error})" for t in missed)
    return text + "."


async def send_announcements(deps: Deps) -> None:
    """Send every promised "published" announcement not yet recorded as sent."""
    for key in await chat.unsent_deliveries(deps.db.reader, ANNOUNCE):
        post_id = int(key[len(ANNOUNCE) :].split(":", 1)[0])
        done = await publications.publication(deps.db.reader, post_id)
        link = await chat.latest_message(deps.db.reader, kind="draft", post_id=post_id)
        post = await posts.get_post(deps.db.reader, post_id)
        if done is None or done.published_at is None or link is None or post is None:
            continue
        if link.platform not in deps.ports:
            continue
        rev = done.rev or post.rev
        found = await targets.targets_of(deps.db.reader, post_id, rev)
        if found:
            text = published_text(post.number, rev, found)
        else:  # published before destinations had rows of their own
            where = f"{done.target}: {done.location}"
            text = f"post {post.number} is published ({where}), revision {rev}."
        card = Card(title=text, sections=(Section(None, f"/post {post.number} shows its card."),))
        card = await linked(deps.links, card, link.place, [("post", post_id, post.number)])
        notice = message_link("notice", link.platform, link.channel_id, now=deps.clock())
        posted = await deps.posting.post_once(key, notice, card, thread_id=link.message_id)
        if posted is not None:
            await log_bot_turn(
                deps, posted.ref, text, thread_id=link.message_id, refs=[(post_id, "named")]
            )


async def say_in_thread(deps: Deps, post_id: int, text: str) -> None:
    """Say it in the draft's thread, and log the turn as a reference to the post."""
    link = await chat.latest_message(deps.db.reader, kind="draft", post_id=post_id)
    post = await posts.get_post(deps.db.reader, post_id)
    if link is None or post is None or link.platform not in deps.ports:
        return
    card = Card(title=text, sections=(Section(None, f"/post {post.number} shows its card."),))
    card = await linked(deps.links, card, link.place, [("post", post_id, post.number)])
    try:
        ref = await deps.port(link.platform).send(link.channel_id, card, thread_id=link.message_id)
    except Exception as exc:
        log.warning("announcing post %d failed: %s", post_id, exc)
        return
    await log_bot_turn(deps, ref, text, thread_id=link.message_id, refs=[(post_id, "named")])
