"""Cards with links to their pages: each card that names a post, plan or run links to its page,
with a link made for the channel the card is shown in (the only people who see the card)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from handlers.links import ShareLinks
from handlers.ports import Card, Link
from storage.models import Place

BOT = "draftroom"


# What a card links to: (kind, its key, its number as the channel knows it), like
# ("post", 417, 3); the library has neither.
Wanted = tuple[str, int | None, int | None]


def label(kind: str, number: int | None) -> str:
    return "the library" if kind == "library" else f"{kind} {number}'s page"


async def linked(
    links: ShareLinks,
    card: Card,
    place: Place,
    wanted: Iterable[Wanted],
    *,
    made_by: str = BOT,
) -> Card:
    """The card with a link to each (kind, target)'s page; unchanged when links are off."""
    found: list[Link] = []
    for kind, target, number in wanted:
        link = await links.link(kind, target, place, label=label(kind, number), made_by=made_by)
        if link is not None:
            found.append(link)
    return dataclasses.replace(card, links=(*card.links, *found)) if found else card


async def costs_link(links: ShareLinks, card: Card, place: Place, *, made_by: str) -> Card:
    """The costs card links to the costs page, under the channel's library link."""
    link = await links.link("library", None, place, label="costs", made_by=made_by)
    if link is None:
        return card
    url = link.url.replace("/posts?", "/costs?", 1)
    return dataclasses.replace(card, links=(*card.links, Link("the costs page", url)))
