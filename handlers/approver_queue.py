"""Each approver's queue: the drafts waiting for their ✅, and their own drafts waiting for
others, from the channels they can see (the scope rules: a post lives in one channel). One query
for every platform: Slack's Home tab, `/queue` on Discord and in the console."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from handlers import cards
from handlers.card_links import Wanted, linked
from handlers.commands import ShowQueue
from handlers.deps import Deps
from handlers.people import qualified
from handlers.ports import Card, Invocation, Link, MessageRef, Reply, Section
from handlers.workspace_settings import rules_for
from storage import approver_queue
from storage.approver_queue import Awaiting
from storage.models import Place

SHOWN = 20


@dataclass(frozen=True)
class Waiting:
    post_id: int
    number: int  # as people in its workspace call it
    headline: str
    persona: str
    content_format: str
    age: str
    cost: str
    draft_url: str | None  # the draft message in the platform's client
    page: Link | None  # the post's page

    @property
    def line(self) -> str:
        return (
            f"post {self.number} · @{self.persona} · {self.content_format} · "
            f"{self.headline or '(no headline)'} · {self.age} old · {self.cost}"
        )


@dataclass(frozen=True)
class Queue:
    to_approve: tuple[Waiting, ...]
    yours: tuple[Waiting, ...]


async def queue_for(
    deps: Deps,
    who: str,
    places: Sequence[Place],
    *,
    workspace: str | None = None,
    with_links: bool = True,
) -> Queue:
    """What waits for `who` in `places` (of one workspace), newest first: drafts they may
    approve and have not, and drafts they wrote (who cannot approve their own unless the
    workspace allows self-approval)."""
    rules = await rules_for(deps, workspace)
    roles = rules.roles
    found = await approver_queue.awaiting_in(deps.db.reader, places, limit=SHOWN * 4)
    to_approve: list[Waiting] = []
    yours: list[Waiting] = []
    for entry in found:
        authors = {qualified(entry.plan_platform, a) for a in entry.plan_authors}
        mine = any(roles.same_person(who, a) for a in authors | entry.draft_authors)
        approved = any(roles.same_person(who, user) for user in entry.approving)
        if mine and len(yours) < SHOWN:
            yours.append(await _waiting(deps, entry, with_links))
        may = roles.is_approver(who) and (not mine or rules.allow_self_approval)
        if may and not approved and len(to_approve) < SHOWN:
            to_approve.append(await _waiting(deps, entry, with_links))
    return Queue(tuple(to_approve), tuple(yours))


async def _waiting(deps: Deps, entry: Awaiting, with_links: bool) -> Waiting:
    post = entry.post
    url = None
    if entry.draft is not None and entry.draft.platform in deps.ports:
        draft = entry.draft
        ref = MessageRef(draft.platform, draft.channel_id, draft.message_id)
        url = deps.port(draft.platform).message_url(ref)
    page = None
    if with_links:
        page = await deps.links.link(
            "post", post.id, post.place, label=f"post {post.number}'s page", made_by="draftroom"
        )
    return Waiting(
        post_id=post.id,
        number=post.number,
        headline=post.headline,
        persona=post.persona,
        content_format=post.content_format,
        age=cards.age(deps.clock() - post.status_changed_at),
        cost=cards.money(entry.cost),
        draft_url=url,
        page=page,
    )


def queue_card(queue: Queue) -> Card:
    def lines(entries: Sequence[Waiting], empty: str) -> str:
        return "\n".join(w.line for w in entries) or empty

    return Card(
        f"Your queue: {len(queue.to_approve)} to approve, {len(queue.yours)} of yours waiting",
        (
            Section("Waiting for your approval", lines(queue.to_approve, "Nothing waits for you.")),
            Section("Your drafts waiting for others", lines(queue.yours, "None.")),
        ),
        footer="✅ on a draft approves it; /post <post> shows its card.",
    )


async def show_queue(deps: Deps, inv: Invocation, cmd: ShowQueue) -> Reply:
    """`/queue`, privately: what waits in the channels the adapter says the person can see, or
    in this one."""
    places = cmd.places or [inv.place]
    queue = await queue_for(deps, inv.who, places, workspace=inv.workspace, with_links=False)
    card = queue_card(queue)
    waiting = (*queue.to_approve, *queue.yours)[:10]
    wanted: list[Wanted] = [("post", w.post_id, w.number) for w in waiting]
    return Reply(await linked(deps.links, card, inv.place, wanted, made_by=inv.who))
