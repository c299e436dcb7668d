"""Who may do what, decided in one place.

- Anyone in the channel may `/propose` and `/ask`, unless `EDITORS` is set: then only editors
  and approvers may (both spend money).
- Changing a plan or its drafts, each a paid rerun (`/refine`, `/run`, a reply in a plan's or a
  draft's thread, 🔁): the plan's proposer, the approvers and the editors.
- ✅ and ❌ on a draft: approvers only, and ✅ not by an author of the revision (the plan's
  proposer, whoever wrote the note of the plan revision it was drafted from, whoever wrote the
  note of the draft's revision) unless `ALLOW_SELF_APPROVAL=true`. People are compared as
  people (`PEOPLE`), so a person's Slack and Discord ids are one author.

Each rule is the workspace's (handlers/workspace_settings.py): a plan's own workspace for what
is done to the plan and its drafts, the asker's for a new plan.
"""

from __future__ import annotations

import json

from handlers.deps import Deps
from handlers.people import qualified
from handlers.ports import Invocation
from handlers.workspace_settings import rules_for
from storage import plans, steps
from storage.models import Plan, Post

NOT_AN_APPROVER = "you are not an approver (APPROVERS)"
SPEND_REFUSAL = "only editors and approvers can start work that costs money here (EDITORS)."
OWN_DRAFT = "it is your own draft (you proposed or wrote part of it); another approver must"


async def may_spend(deps: Deps, inv: Invocation) -> bool:
    roles = (await rules_for(deps, inv.workspace)).roles
    if not roles.editors:
        return True
    return roles.is_editor(inv.who) or roles.is_approver(inv.who)


async def may_change(deps: Deps, who: str, plan: Plan) -> bool:
    roles = (await rules_for(deps, plan.workspace)).roles
    proposer = qualified(plan.platform, plan.proposer)
    return roles.same_person(who, proposer) or roles.is_approver(who) or roles.is_editor(who)


def change_refusal(plan: Plan) -> str:
    return (
        f"only plan {plan.number}'s proposer, the approvers and the editors can change it or spend "
        "on it; nothing was changed."
    )


async def authors_of(deps: Deps, post: Post, plan: Plan) -> set[str]:
    """Everyone who wrote part of the post's current revision, as qualified ids."""
    found = {qualified(plan.platform, plan.proposer)}
    reader = deps.db.reader
    revision = await plans.get_revision(reader, post.plan_id, post.plan_rev)
    if revision is not None and revision.note is not None:
        found.add(qualified(plan.platform, revision.author))
    for step in await steps.steps_of_post(reader, post.id, post.rev):
        if step.name == "draft" and step.input_json:
            author = json.loads(step.input_json).get("author")
            if isinstance(author, str):
                found.add(author)
    return found


async def approval_refusal(deps: Deps, who: str, post: Post, plan: Plan) -> str | None:
    """Why this person's ✅ does not count, or None when it does."""
    rules = await rules_for(deps, plan.workspace)
    roles = rules.roles
    if not roles.is_approver(who):
        return NOT_AN_APPROVER
    if rules.allow_self_approval:
        return None
    if any(roles.same_person(who, author) for author in await authors_of(deps, post, plan)):
        return OWN_DRAFT
    return None
