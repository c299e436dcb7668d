"""Which of the install's personas a workspace writes for, and which is its default.

An agency's brands share one personas file (PERSONAS_FILE): each workspace's admins choose the
personas that are theirs, and with them those personas' pillars and publishing destinations.
`/propose` in the workspace writes for its default persona unless another of its own is asked
for, and refuses one that is not its own, before anything is written or spent. A workspace that
chose none writes for any persona of the file, as a single-workspace install does.

The choice has its own form (Slack: "Choose personas" on the App Home; Discord:
`/draftroom personas`), kept apart from the rules' form: Discord's modals hold five fields and
the rules' take all five, and saving one form leaves what the other set as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from handlers.deps import Deps
from handlers.ports import UserError
from handlers.workspace_settings import (
    NOT_AN_ADMIN,
    SettingsFormError,
    WorkspaceSettings,
    personas_in_force,
    settings_of,
)
from pipeline.personas import Persona
from storage import workspace_settings


@dataclass(frozen=True)
class PersonasForm:
    """`personas`: handles separated by commas or spaces (`@` optional), the first the default
    unless `default_persona` names one of them."""

    personas: str = ""
    default_persona: str = ""


def _handle(text: str) -> str:
    return text.strip().lstrip("@").lower()


def checked_personas(deps: Deps, form: PersonasForm) -> tuple[str, ...]:
    """The handles the form asks for, the default first, or SettingsFormError by field."""
    known = deps.personas.by_handle
    listed = ", ".join(f"@{handle}" for handle in known)
    chosen: list[str] = []
    for part in filter(None, re.split(r"[\s,]+", form.personas)):
        handle = _handle(part)
        if handle not in known:
            raise SettingsFormError(
                {"personas": f"'{part[:40]}' is not a persona of this install (they are {listed})"}
            )
        if handle not in chosen:
            chosen.append(handle)
    if not chosen:
        raise SettingsFormError({"personas": f"choose at least one persona ({listed})"})
    default = _handle(form.default_persona)
    if default:
        if default not in chosen:
            said = form.default_persona.strip()[:40]
            raise SettingsFormError(
                {"default_persona": f"'{said}' is not one of the personas chosen above"}
            )
        chosen.remove(default)
        chosen.insert(0, default)
    return tuple(chosen)


async def save_personas(
    deps: Deps, workspace: str, who: str, *, admin: bool, form: PersonasForm
) -> WorkspaceSettings:
    """Check the form and store the workspace's personas; refused (nothing written) for anyone
    but its admins and for a persona the install does not have."""
    if not admin:
        raise UserError(NOT_AN_ADMIN)
    handles = checked_personas(deps, form)
    async with deps.db.transaction() as conn:
        await workspace_settings.put_personas(conn, workspace, handles, who=who, now=deps.clock())
    return await settings_of(deps, workspace)


async def persona_for(deps: Deps, workspace: str | None, asked: str | None) -> Persona:
    """The persona a command in `workspace` writes for: `asked`, if it is one of the
    workspace's, else its default. Raises PersonaError for a persona the install does not
    have, and UserError for one the workspace did not choose."""
    handles, own = await personas_in_force(deps, workspace)
    if not own:
        return deps.personas.persona(asked)
    persona = deps.personas.persona(asked or handles[0])
    if persona.handle not in handles:
        theirs = ", ".join(f"@{handle}" for handle in handles)
        raise UserError(
            f"@{persona.handle} is not one of this workspace's personas ({theirs}); propose "
            "with one of them, or ask an admin to add it in draftroom's settings."
        )
    return persona
