"""What a workspace publishes: which of the install's personas it writes for (and its
default), and the channel its drafts are posted in for approval.

An agency's brands share one personas file (PERSONAS_FILE): each workspace's admins choose the
personas that are theirs, and with them those personas' pillars and publishing destinations.
`/propose` in the workspace writes for its default persona unless another of its own is asked
for, and refuses one that is not its own, before anything is written or spent. A workspace that
chose none writes for any persona of the file, as a single-workspace install does.

The choice has its own form (Slack: "Choose personas" on the App Home; Discord:
`/draftroom personas`), kept apart from the rules' form: Discord's modals hold five fields and
the rules' take all five, and saving one form leaves what the other set as it was.

The approval channel (Slack: "Approval channel" on the App Home; Discord: `/draftroom
approvals`) gathers the drafts of every plan proposed in the workspace in one channel, where its
approvers react to them; plans, their threads and progress stay where they were proposed, and
the posts still belong to that channel (`/post` there). Unset, drafts are posted beside their
plan, as before. The bot has to be in the channel: a draft it cannot post there is reported on
its plan's progress message, as any failed post is.
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
    platform_of,
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


# A channel as each adapter names it in the core: Slack `C…`/`G…` (in OAuth mode `T…/C…`, its
# team first), Discord a snowflake.
_CHANNEL = {
    "slack": re.compile(r"(?:([TE][A-Z0-9]{2,})/)?([CG][A-Z0-9]{2,})"),
    "discord": re.compile(r"[0-9]{15,21}"),
}


def checked_channel(workspace: str, channel: str | None) -> str | None:
    """The channel, if it is one of this workspace's; None for none; else SettingsFormError."""
    channel = (channel or "").strip()
    if not channel:
        return None
    platform = platform_of(workspace)
    pattern = _CHANNEL.get(platform)
    match = pattern.fullmatch(channel) if pattern is not None else None
    team = match.group(1) if match is not None and platform == "slack" else None
    if match is None or (team is not None and f"slack:{team}" != workspace):
        raise SettingsFormError(
            {"approval_channel": f"'{channel[:40]}' is not a channel of this workspace"}
        )
    return channel


async def save_approval_channel(
    deps: Deps, workspace: str, who: str, *, admin: bool, channel: str | None
) -> WorkspaceSettings:
    """Store the channel the workspace's drafts are posted in (None: beside their plans);
    refused (nothing written) for anyone but its admins and for another workspace's channel."""
    if not admin:
        raise UserError(NOT_AN_ADMIN)
    checked = checked_channel(workspace, channel)
    async with deps.db.transaction() as conn:
        await workspace_settings.put_approval_channel(
            conn, workspace, checked, who=who, now=deps.clock()
        )
    return await settings_of(deps, workspace)


async def drafts_channel(deps: Deps, workspace: str | None, plan_channel: str) -> str:
    """Where a draft of a plan proposed in `plan_channel` of `workspace` is posted."""
    if workspace is None:
        return plan_channel
    chosen = await workspace_settings.get_approval_channel(deps.db.reader, workspace)
    return chosen or plan_channel
