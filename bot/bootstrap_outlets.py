"""Part of the composition root: where each persona's approved posts go (bot/bootstrap.py
builds everything else). Credentials are read here, by the setting names the personas file
gives, from the environment or `.env`; a missing one stops start-up naming the setting."""

from __future__ import annotations

import os

import httpx
from dotenv import dotenv_values

from bot.errors import ConfigError
from bot.settings import Settings
from pipeline.destinations.base import Destination
from pipeline.destinations.bluesky import BlueskyDestination
from pipeline.destinations.mastodon import MastodonDestination
from pipeline.destinations.outlets import Outlet, Outlets, OwnOutlets
from pipeline.destinations.x_twitter import XDestination
from pipeline.personas import DESTINATION_NEEDS, DestinationSpec, Personas
from pipeline.publisher import OutboxPublisher, Publisher, WebhookPublisher
from storage import workspace_destinations
from storage.db import Database
from storage.sealing import Sealer


def publisher(settings: Settings, http: httpx.AsyncClient) -> Publisher:
    if settings.publish_webhook_url is not None:
        if settings.publish_webhook_secret is None:
            raise ConfigError("PUBLISH_WEBHOOK_URL needs PUBLISH_WEBHOOK_SECRET to sign posts.")
        secret = settings.publish_webhook_secret.get_secret_value()
        url = settings.publish_webhook_url.get_secret_value()
        try:
            return WebhookPublisher(url, secret, http)
        except ValueError as exc:  # the message names the setting, never its value
            raise ConfigError(f"PUBLISH_WEBHOOK_URL {exc}.") from None
    return OutboxPublisher(settings.outbox_dir)


def outlets(
    settings: Settings,
    personas: Personas,
    http: httpx.AsyncClient,
    *,
    db: Database | None = None,
    sealer: Sealer | None = None,
) -> Outlets:
    """Each persona's destinations from the personas file; a persona that names none publishes
    where the install does (PUBLISH_WEBHOOK_URL, else the outbox). With a database and
    SECRETS_KEY's sealer, a workspace's own destinations (entered by its admins) replace the
    file's for its posts."""
    own = publisher(settings, http)
    default = (Outlet(own.name, own.name, publisher=own),)
    by_persona = {
        handle: tuple(destination_outlet(settings, handle, spec, own, http) for spec in specs)
        for handle, persona in personas.by_handle.items()
        if (specs := persona.destinations)
    }
    entered = None
    if db is not None and sealer is not None:
        entered = workspace_outlets(settings, db, sealer, http)
    return Outlets(by_persona, default, own=entered)


def workspace_outlets(
    settings: Settings, db: Database, sealer: Sealer, http: httpx.AsyncClient
) -> OwnOutlets:
    """The outlets a workspace's admins entered for a persona, their credentials opened here
    (the network clients hold them in memory only)."""

    async def build(workspace: str, persona: str) -> tuple[Outlet, ...]:
        found = await workspace_destinations.of_workspace(
            db.reader, sealer, workspace, persona=persona
        )
        built = []
        for d in found:
            names = {
                w: f"the {w.replace('_', ' ')} in the workspace's destinations" for w in d.secrets
            }
            network = network_of(settings, d.kind, d.options, d.secrets, names, http)
            built.append(Outlet(d.kind, network.name, network=network))
        return tuple(built)

    return build


def destination_outlet(
    settings: Settings,
    handle: str,
    spec: DestinationSpec,
    own: Publisher,
    http: httpx.AsyncClient,
) -> Outlet:
    if spec.kind == "outbox":
        return Outlet("outbox", "outbox", publisher=OutboxPublisher(settings.outbox_dir))
    if spec.kind == "webhook":
        if not isinstance(own, WebhookPublisher):
            raise ConfigError(
                f"persona '{handle}' publishes to a webhook: set PUBLISH_WEBHOOK_URL and "
                "PUBLISH_WEBHOOK_SECRET."
            )
        return Outlet("webhook", f"webhook {own.host}", publisher=own)
    destination = network(settings, handle, spec, http)
    return Outlet(spec.kind, destination.name, network=destination)


def network(
    settings: Settings, handle: str, spec: DestinationSpec, http: httpx.AsyncClient
) -> Destination:
    """The network client for one destination, its credentials read first (a missing one stops
    start-up naming its setting, before anything connects)."""
    _, needed = DESTINATION_NEEDS[spec.kind]
    keys = {what: credential(handle, spec, what) for what in needed}
    settings_of = {what: spec.setting(what) or "" for what in needed}
    return network_of(settings, spec.kind, spec.options, keys, settings_of, http)


def network_of(
    settings: Settings,
    kind: str,
    options: dict[str, str],
    keys: dict[str, str],
    named: dict[str, str],
    http: httpx.AsyncClient,
) -> Destination:
    """The client of one network account: `options` (handle, instance), `keys` its credentials,
    `named` where each credential came from (what an error tells the user to fix)."""
    account = options.get("handle")
    if kind == "bluesky":
        return BlueskyDestination(
            handle=options["handle"],
            app_password=keys["app_password"],
            password_setting=named["app_password"],
            service_url=settings.bluesky_service_url,
        )
    if kind == "mastodon":
        return MastodonDestination(
            options["instance"],
            keys["access_token"],
            token_setting=named["access_token"],
            handle=account,
        )
    return XDestination(
        keys["consumer_key"],
        keys["consumer_secret"],
        keys["access_token"],
        keys["access_token_secret"],
        api_url=settings.x_api_url,
        credential_settings=tuple(named[w] for w in DESTINATION_NEEDS["x"][1]),
        handle=account,
    )


def destination_secrets(personas: Personas) -> list[str]:
    """Every credential the personas file names and the environment holds, for the log filter."""
    found = []
    for persona in personas.by_handle.values():
        for spec in persona.destinations:
            for option, name in spec.options.items():
                if option.endswith("_setting"):
                    value = setting_value(name)
                    if value:
                        found.append(value)
    return found


def setting_value(name: str) -> str:
    """A setting the personas file names, from the environment or `.env` ("" when unset)."""
    return os.environ.get(name) or str(dotenv_values(".env").get(name) or "")


def credential(handle: str, spec: DestinationSpec, what: str) -> str:
    """The value of the setting the personas file names for `what`; ConfigError naming it."""
    name = spec.setting(what) or ""
    value = setting_value(name)
    if not value:
        raise ConfigError(
            f"persona '{handle}' publishes to {spec.kind}, whose {what.replace('_', ' ')} is "
            f"read from the setting {name}, which is not set: set {name} in .env."
        )
    return value
