"""/links and /revoke: the live links to a channel's web pages, and taking one back.

A link made on a card belongs to the channel; anyone there sees it. The person it was made for
may revoke it, and so may any approver; a revoked link answers 403 from then on, and the next
card shown in the channel gets a new one."""

from __future__ import annotations

import re

from handlers.cards import when
from handlers.commands import ListLinks, Revoke
from handlers.deps import Deps
from handlers.ports import Card, Invocation, Reply, Section, UserError
from handlers.workspace_settings import rules_for
from storage import shares
from storage.models import Share

LISTED = 25


def described(share: Share) -> str:
    return "the library" if share.kind == "library" else f"{share.kind} {share.target}"


async def list_links(deps: Deps, inv: Invocation, cmd: ListLinks) -> Reply:
    if not deps.links.enabled:
        return Reply(Card("Shared links are turned off here (SHARED_LINKS=false)."))
    found = await shares.live_shares(deps.db.reader, inv.place, now=deps.clock(), limit=LISTED)
    if not found:
        return Reply(Card("No live links to this channel's pages."))
    lines = [
        f"link {s.id} · {described(s)} · made by {s.made_by} · expires {when(s.expires_at)}"
        for s in found
    ]
    return Reply(
        Card(
            f"{len(found)} live links to this channel's pages",
            (Section(None, "\n".join(lines)),),
            footer="/revoke <number> stops one working.",
        )
    )


async def revoke(deps: Deps, inv: Invocation, cmd: Revoke) -> Reply:
    text = cmd.link.strip().lstrip("#")
    if re.fullmatch(r"[0-9]{1,12}", text):
        share_id: int | None = int(text)
    else:
        share_id = await deps.links.share_id_in(text)
    share = await shares.get_share(deps.db.reader, share_id) if share_id is not None else None
    if share is None or share.place != inv.place:
        raise UserError("that is not a link to this channel's pages; /links lists them.")
    roles = (await rules_for(deps, inv.workspace)).roles
    if not (roles.same_person(inv.who, share.made_by) or roles.is_approver(inv.who)):
        raise UserError(
            f"link {share.id} was made for {share.made_by}; only they or an approver may revoke it."
        )
    if not await deps.links.revoke(share.id, by=inv.who):
        return Reply(Card(f"link {share.id} ({described(share)}) was already revoked."))
    return Reply(
        Card(f"link {share.id} ({described(share)}) is revoked: it now answers 403 Forbidden.")
    )
