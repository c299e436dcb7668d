"""A workspace's own publishing destinations: for a persona it writes for, the Bluesky, Mastodon
or X account its approved posts go to, with that account's credentials.

An admin enters them in a form (Slack: "Destinations" on the App Home); they are checked field
by field, then stored sealed with SECRETS_KEY (storage/workspace_destinations.py), so the
database never holds a credential in the clear and no page or card ever shows one. Once a
persona has a destination of the workspace's own, its posts from that workspace go there, and
no longer to the personas file's destinations (which may be another brand's accounts); a
persona with none publishes as the file says. One destination per network and persona: a new
one replaces the last.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from handlers.deps import Deps
from handlers.ports import UserError
from handlers.workspace_settings import (
    NETWORKS,
    NOT_AN_ADMIN,
    SettingsFormError,
    destination_line,
    personas_in_force,
)
from pipeline.personas import DESTINATION_NEEDS
from storage import workspace_destinations
from storage.workspace_destinations import WorkspaceDestination

SECRET_MAX = 500
NO_KEY = (
    "draftroom keeps a destination's credentials sealed with SECRETS_KEY, which this install "
    "has not set; ask whoever runs draftroom to set it (README, Settings). Nothing was saved."
)
_HANDLE = re.compile(r"@?[A-Za-z0-9][A-Za-z0-9_.-]{0,252}")


@dataclass(frozen=True)
class DestinationForm:
    """What the form holds, as typed. `handle`: the account (Bluesky's is required, like
    `aiaaron.bsky.social`); `instance`: Mastodon's server URL. The credentials: Bluesky an
    app password, Mastodon an access token, X its four keys."""

    persona: str = ""
    network: str = ""
    handle: str = ""
    instance: str = ""
    app_password: str = ""
    access_token: str = ""
    consumer_key: str = ""
    consumer_secret: str = ""
    access_token_secret: str = ""

    def secret(self, name: str) -> str:
        return str(getattr(self, name)).strip()


async def checked_destination(
    deps: Deps, workspace: str, form: DestinationForm
) -> WorkspaceDestination:
    """The destination the form asks for, or SettingsFormError naming each wrong field."""
    errors: dict[str, str] = {}
    persona = form.persona.strip().lstrip("@").lower()
    handles, _ = await personas_in_force(deps, workspace)
    if persona not in handles:
        theirs = ", ".join(f"@{h}" for h in handles)
        errors["persona"] = f"'{form.persona[:40]}' is not one of this workspace's ({theirs})"
    kind = form.network.strip().lower()
    if kind not in NETWORKS:
        errors["network"] = f"'{form.network[:40]}' is not one of {', '.join(NETWORKS.values())}"
        raise SettingsFormError(errors)
    options = _options(kind, form, errors)
    secrets = {}
    for name in DESTINATION_NEEDS[kind][1]:
        value = form.secret(name)
        words = name.replace("_", " ")
        if not value:
            errors[name] = f"{NETWORKS[kind]} needs its {words}"
        elif len(value) > SECRET_MAX or any(c.isspace() for c in value):
            errors[name] = f"that is not a {words} (one word, at most {SECRET_MAX} characters)"
        secrets[name] = value
    if errors:
        raise SettingsFormError(errors)
    return WorkspaceDestination(workspace, persona, kind, options, secrets)


def _options(kind: str, form: DestinationForm, errors: dict[str, str]) -> dict[str, str]:
    options: dict[str, str] = {}
    handle = form.handle.strip()
    if handle and not _HANDLE.fullmatch(handle):
        errors["handle"] = f"'{handle[:40]}' is not an account name"
    elif handle:
        options["handle"] = handle.lstrip("@")
    elif kind == "bluesky":
        errors["handle"] = "Bluesky needs the account's handle, like aiaaron.bsky.social"
    if kind == "mastodon":
        instance = form.instance.strip().rstrip("/")
        parts = urlsplit(instance)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            errors["instance"] = "Mastodon needs its server's address, like https://mastodon.social"
        else:
            options["instance"] = instance
    return options


async def save_destination(
    deps: Deps, workspace: str, who: str, *, admin: bool, form: DestinationForm
) -> list[str]:
    """Check the form and store the destination sealed; the workspace's destinations as
    listed after. Refused, with nothing written, for anyone but its admins, for a wrong field,
    and on an install without SECRETS_KEY."""
    if not admin:
        raise UserError(NOT_AN_ADMIN)
    found = await checked_destination(deps, workspace, form)
    if deps.sealer is None:
        raise UserError(NO_KEY)
    entered = WorkspaceDestination(
        found.workspace,
        found.persona,
        found.kind,
        found.options,
        found.secrets,
        updated_by=who,
        updated_at=deps.clock(),
    )
    async with deps.db.transaction() as conn:
        await workspace_destinations.put(conn, deps.sealer, entered)
    deps.outlets.forget(workspace)
    return await destination_lines(deps, workspace)


async def remove_destination(
    deps: Deps, workspace: str, *, admin: bool, persona: str, network: str
) -> list[str]:
    """Remove one of the workspace's destinations; its posts of that persona go where the
    personas file says again (or to its other destinations here)."""
    if not admin:
        raise UserError(NOT_AN_ADMIN)
    handle, kind = persona.strip().lstrip("@").lower(), network.strip().lower()
    async with deps.db.transaction() as conn:
        removed = await workspace_destinations.remove(conn, workspace, handle, kind)
    if not removed:
        raise UserError(f"this workspace has no {network[:20]} destination for @{handle[:40]}.")
    deps.outlets.forget(workspace)
    return await destination_lines(deps, workspace)


async def destination_lines(deps: Deps, workspace: str) -> list[str]:
    """One line per destination the workspace entered, never a credential."""
    found = await workspace_destinations.listed(deps.db.reader, workspace)
    return [destination_line(d) for d in found]
