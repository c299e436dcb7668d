"""Upper bounds of what a run, or a new revision of one item, may spend, for the budget.

The per-call estimates made when the calls happen must fit inside these, so each is built from
the request the step will make, or from the largest one it can make (`STEPS[...]`, per step).
"""

from __future__ import annotations

from pipeline import drafting
from pipeline.calls import Providers
from pipeline.item_steps import STEPS
from pipeline.personas import Persona
from pipeline.providers.base import TextRequest
from pipeline.spec import FORMATS, ItemSpec
from storage.models import PlanRevision, Post

# A batch's seed (its run id) has at most this many digits.
_LARGEST_SEED = 10**12


def most_a_run_may_spend(providers: Providers, person: Persona, revision: PlanRevision) -> float:
    """Its batch draft, then every item's other steps."""
    formats = ItemSpec.from_json(revision.spec_json).formats()
    batch = drafting.draft_request(
        person, revision.text, revision.angle, formats, seed=_LARGEST_SEED
    )
    total = providers.text.estimate_cost(batch)
    for content_format in formats:
        total += most_an_item_may_spend(providers, person, revision, content_format)
    return round(total, 6)


def most_an_item_may_spend(
    providers: Providers,
    person: Persona,
    revision: PlanRevision,
    content_format: str,
    redraft: TextRequest | None = None,
) -> float:
    """What one item's steps may spend, and its draft when it is drafted again on its own
    (`redraft`; a run drafts its batch at once)."""
    total = providers.text.estimate_cost(redraft) if redraft is not None else 0.0
    for name in FORMATS[content_format].steps:
        total += STEPS[name].most_it_may_spend(providers, person, revision)
    return total


def most_a_revision_may_spend(
    providers: Providers, person: Persona, revision: PlanRevision, post: Post, note: str | None
) -> float:
    """A new revision of `post`: its draft again (the request it will make), then its steps."""
    redraft = drafting.draft_request(
        person,
        revision.text,
        revision.angle,
        [post.content_format],
        seed=post.id * 7 + post.rev + 1,
        note=note,
        previous=post.body,
    )
    return round(
        most_an_item_may_spend(providers, person, revision, post.content_format, redraft), 6
    )
