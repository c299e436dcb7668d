"""A workspace's own rules: who approves and edits, how many approvals publish, whether an
author may approve their own draft, and its daily budget.

A workspace is a Slack team (`slack:T…`) or a Discord server (`discord:<guild id>`). Its row is
read on every decision, so a change applies to the next command with no restart; a workspace
without a row, and the console, follow the install's `.env` (APPROVERS, EDITORS,
APPROVALS_REQUIRED, ALLOW_SELF_APPROVAL, DAILY_BUDGET_USD), and so does a budget left empty.
The workspace's admins change it through a form each adapter shows (Slack: the App Home's
Settings modal; Discord: `/draftroom settings`); the form arrives here as text, is checked
whole, and is written whole or not at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from handlers.deps import Deps, Rules
from handlers.people import Roles
from handlers.ports import Card, Link, Section, UserError
from storage import workspace_destinations, workspace_settings
from storage.workspace_destinations import WorkspaceDestination
from storage.workspace_settings import WorkspaceRow

MAX_APPROVALS = 10
MAX_DAILY_USD = 10_000.0
MAX_PEOPLE = 50
NOT_AN_ADMIN = (
    "only this workspace's admins can change draftroom's settings (Slack: workspace admins and "
    "owners; Discord: Manage Server); nothing was changed."
)
# A person as each platform's form gives them: an id, or a mention of one.
_ID = {
    "slack": re.compile(r"<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>|([UW][A-Z0-9]{2,})"),
    "discord": re.compile(r"<@!?([0-9]{15,21})>|([0-9]{15,21})"),
}
_WHAT_ID = {"slack": "a Slack user id (U…) or @mention", "discord": "a Discord user id or @mention"}
_YES, _NO = ("yes", "true", "on", "1"), ("no", "false", "off", "0", "")


@dataclass(frozen=True)
class SettingsForm:
    """The form as the person filled it in, every field as text (lists: ids or mentions,
    separated by commas or spaces)."""

    approvers: str = ""
    editors: str = ""
    approvals_required: str = "1"
    allow_self_approval: str = "no"
    daily_budget_usd: str = ""  # dollars a day; empty: the install's DAILY_BUDGET_USD


@dataclass(frozen=True)
class WorkspaceSettings:
    approvers: tuple[str, ...]  # qualified ids
    editors: tuple[str, ...]
    approvals_required: int
    allow_self_approval: bool
    daily_budget_usd: float | None  # None: the install's
    own: bool  # False: the workspace has none of its own and follows the install's .env
    # The personas it may write for, its default first (handlers.workspace_publishing);
    # own_personas False: every persona of the install's file.
    personas: tuple[str, ...] = ()
    own_personas: bool = False
    approval_channel: str | None = None  # None: drafts are posted beside their plans
    # The destinations it entered (handlers.workspace_destinations), one line each, no secret.
    destinations: tuple[str, ...] = ()

    def form(self) -> SettingsForm:
        """The form filled in with these settings (the ids without their platform)."""
        return SettingsForm(
            approvers=", ".join(_bare(i) for i in self.approvers),
            editors=", ".join(_bare(i) for i in self.editors),
            approvals_required=str(self.approvals_required),
            allow_self_approval="yes" if self.allow_self_approval else "no",
            daily_budget_usd="" if self.daily_budget_usd is None else f"{self.daily_budget_usd:g}",
        )


class SettingsFormError(UserError):
    """The form had wrong values: what is wrong with each field, by the field's name."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        said = "; ".join(f"{field}: {error}" for field, error in errors.items())
        super().__init__(f"the settings were not saved ({said}).")


def _bare(who: str) -> str:
    return who.split(":", 1)[1] if ":" in who else who


def platform_of(workspace: str) -> str:
    return workspace.split(":", 1)[0]


async def rules_for(deps: Deps, workspace: str | None) -> Rules:
    """The rules that apply in this workspace now."""
    row = None if workspace is None else await workspace_settings.get(deps.db.reader, workspace)
    if row is None:
        return deps.rules
    roles = Roles(frozenset(row.approvers), frozenset(row.editors), deps.rules.roles.people)
    return replace(
        deps.rules,
        roles=roles,
        approvals_required=row.approvals_required,
        allow_self_approval=row.allow_self_approval,
    )


async def personas_in_force(deps: Deps, workspace: str | None) -> tuple[tuple[str, ...], bool]:
    """The handles a workspace may write for, its default first, and whether they are its own
    choice. A handle no longer in the personas file is passed over; a workspace left with none
    (or that chose none) has every persona of the file, the file's default first."""
    known = deps.personas.by_handle
    chosen = None if workspace is None else await workspace_settings.get_personas(
        deps.db.reader, workspace
    )  # fmt: skip
    kept = tuple(handle for handle in chosen or () if handle in known)
    if kept:
        return kept, True
    default = deps.personas.default_persona
    return (default, *(handle for handle in known if handle != default)), False


async def settings_of(deps: Deps, workspace: str) -> WorkspaceSettings:
    entered = await workspace_destinations.listed(deps.db.reader, workspace)
    return replace(
        await _rules_of(deps, workspace),
        approval_channel=await workspace_settings.get_approval_channel(deps.db.reader, workspace),
        destinations=tuple(destination_line(d) for d in entered),
    )


NETWORKS = {"bluesky": "Bluesky", "mastodon": "Mastodon", "x": "X"}


def destination_line(found: WorkspaceDestination) -> str:
    """`@aiaaron → Bluesky @aiaaron.bsky.social (entered by slack:U1)`: never a credential."""
    where = found.options.get("handle", "")
    if found.kind == "mastodon":
        host = urlsplit(found.options["instance"]).hostname or found.options["instance"]
        where = f"@{where}@{host}" if where else host
    elif where:
        where = f"@{where}"
    account = f" {where}" if where else ""
    network = NETWORKS.get(found.kind, found.kind)
    return f"@{found.persona} → {network}{account} (entered by {found.updated_by})"


async def _rules_of(deps: Deps, workspace: str) -> WorkspaceSettings:
    personas, own_personas = await personas_in_force(deps, workspace)
    row = await workspace_settings.get(deps.db.reader, workspace)
    if row is not None:
        return WorkspaceSettings(
            row.approvers,
            row.editors,
            row.approvals_required,
            row.allow_self_approval,
            row.daily_budget_usd,
            True,
            personas,
            own_personas,
        )
    roles, platform = deps.rules.roles, platform_of(workspace)
    return WorkspaceSettings(
        _of_platform(platform, roles.approvers),
        _of_platform(platform, roles.editors),
        deps.rules.approvals_required,
        deps.rules.allow_self_approval,
        None,
        False,
        personas,
        own_personas,
    )


def _of_platform(platform: str, entries: frozenset[str]) -> tuple[str, ...]:
    """The .env's entries that name someone on this platform, qualified; names from PEOPLE
    and other platforms' ids cannot be shown in a form of this one."""
    found = []
    for entry in sorted(entries):
        bare = _bare(entry) if entry.startswith(f"{platform}:") else entry
        if platform in _ID and _ID[platform].fullmatch(bare):
            found.append(f"{platform}:{bare}")
    return tuple(found)


def checked(workspace: str, form: SettingsForm) -> WorkspaceSettings:
    """The settings the form asks for, or SettingsFormError naming each wrong field."""
    platform = platform_of(workspace)
    errors: dict[str, str] = {}
    approvers = _people(platform, "approvers", form.approvers, errors)
    editors = _people(platform, "editors", form.editors, errors)
    if not approvers and "approvers" not in errors:
        errors["approvers"] = "name at least one approver: without one nothing can be published"
    required = 0
    text = form.approvals_required.strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_APPROVALS:
        errors["approvals_required"] = f"write a whole number from 1 to {MAX_APPROVALS}"
    else:
        required = int(text)
        if approvers and required > len(approvers):
            errors["approvals_required"] = (
                f"{required} approvals need at least {required} approvers; "
                f"{len(approvers)} {'is' if len(approvers) == 1 else 'are'} named"
            )
    self_approval = form.allow_self_approval.strip().lower()
    if self_approval not in _YES + _NO:
        errors["allow_self_approval"] = "write yes or no"
    budget = _dollars(form.daily_budget_usd, errors)
    if errors:
        raise SettingsFormError(errors)
    return WorkspaceSettings(approvers, editors, required, self_approval in _YES, budget, True)


def _dollars(text: str, errors: dict[str, str]) -> float | None:
    text = text.strip().removeprefix("$").strip()
    if not text:
        return None
    if re.fullmatch(r"[0-9]{1,5}(\.[0-9]{1,2})?", text) and float(text) <= MAX_DAILY_USD:
        return float(text)
    errors["daily_budget_usd"] = (
        f"write dollars a day from 0 to {MAX_DAILY_USD:,.0f}, such as 5 or 12.50, or leave it "
        "empty for the install's budget"
    )
    return None


def _people(platform: str, field: str, text: str, errors: dict[str, str]) -> tuple[str, ...]:
    pattern = _ID.get(platform)
    if pattern is None:
        errors[field] = f"{platform} has no workspace settings"
        return ()
    found: list[str] = []
    for part in filter(None, re.split(r"[\s,]+", text.strip())):
        match = pattern.fullmatch(part)
        if match is None:
            errors[field] = f"{part[:40]!r} is not {_WHAT_ID[platform]}"
            return ()
        qualified = f"{platform}:{match.group(1) or match.group(2)}"
        if qualified not in found:
            found.append(qualified)
    if len(found) > MAX_PEOPLE:
        errors[field] = f"name at most {MAX_PEOPLE} people ({len(found)} given)"
        return ()
    return tuple(found)


async def save_settings(
    deps: Deps, workspace: str, who: str, *, admin: bool, form: SettingsForm
) -> WorkspaceSettings:
    """Check the form and store it for the workspace; refused (nothing written) for anyone
    but its admins and for any wrong field."""
    if not admin:
        raise UserError(NOT_AN_ADMIN)
    settings = checked(workspace, form)
    row = WorkspaceRow(
        workspace=workspace,
        approvers=settings.approvers,
        editors=settings.editors,
        approvals_required=settings.approvals_required,
        allow_self_approval=settings.allow_self_approval,
        daily_budget_usd=settings.daily_budget_usd,
        updated_by=who,
        updated_at=deps.clock(),
    )
    async with deps.db.transaction() as conn:
        await workspace_settings.put(conn, row)
    return await settings_of(deps, workspace)


async def settings_link(deps: Deps, workspace: str, who: str, *, admin: bool) -> Link | None:
    """A link to the workspace's settings page, for its admins only (None: links are off)."""
    if not admin:
        raise UserError(NOT_AN_ADMIN.replace("change", "see"))
    place = (platform_of(workspace), workspace)
    return await deps.links.link("settings", None, place, label="the settings page", made_by=who)


def settings_lines(settings: WorkspaceSettings) -> list[tuple[str, str]]:
    """Each setting as (what, value), as the card and the page show them."""

    def people(ids: tuple[str, ...], empty: str) -> str:
        return ", ".join(_bare(i) for i in ids) or empty

    budget = settings.daily_budget_usd
    channel = settings.approval_channel
    approval_channel = None if channel is None else f"#{channel.rsplit('/', 1)[-1]}"
    personas = ", ".join(
        f"@{handle}{' (default)' if i == 0 else ''}" for i, handle in enumerate(settings.personas)
    )
    return [
        ("Approvers", people(settings.approvers, "nobody")),
        ("Editors", people(settings.editors, "anyone may propose")),
        ("Approvals required", str(settings.approvals_required)),
        ("Authors may approve their own drafts", "yes" if settings.allow_self_approval else "no"),
        ("Daily budget", "the install's" if budget is None else f"${budget:.2f}"),
        ("Personas", personas if settings.own_personas else f"any of {personas} (none chosen)"),
        ("Approval channel", approval_channel or "where each plan was proposed"),
        ("Destinations", "; ".join(settings.destinations) or "as the personas file says"),
    ]


def settings_card(settings: WorkspaceSettings) -> Card:
    """The settings as a card (the App Home, `/draftroom settings`, the web pages)."""

    lines = [f"{what}: {value}" for what, value in settings_lines(settings)]
    footer = None if settings.own else "Not set for this workspace yet: the install's defaults."
    return Card("draftroom settings", (Section(None, "\n".join(lines)),), footer=footer)
