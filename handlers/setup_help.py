"""`/help setup`: for an approver, privately, what is wrong with the set-up, from the same checks
as `draftroom doctor`. The core does not run them: the process hands it `Deps.setup_report`."""

from __future__ import annotations

from handlers.deps import Deps
from handlers.ports import Card, Invocation, Reply, Section, UserError
from handlers.workspace_settings import rules_for

FOR_APPROVERS = "/help setup is for approvers (APPROVERS); ask one, or run `draftroom doctor`."
NOT_HERE = "the set-up checks are not available here: run `draftroom doctor` where the bot runs."


async def setup_help(deps: Deps, inv: Invocation) -> Reply:
    if not (await rules_for(deps, inv.workspace)).roles.is_approver(inv.who):
        raise UserError(FOR_APPROVERS)
    if deps.setup_report is None:
        raise UserError(NOT_HERE)
    lines = await deps.setup_report()
    text = "\n".join(lines) + "\nEvery check, with the webhook's: `draftroom doctor --webhook`."
    return Reply(Card("draftroom set-up", (Section(None, text),)))
