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
from pipeline.destinations.outlets import Outlet, Outlets
from pipeline.destinations.x_twitter import XDestination
from pipeline.personas import DESTINATION_NEEDS, DestinationSpec, Personas
from pipeline.publisher import OutboxPublisher, Publisher, WebhookPublisher


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


def outlets(settings: Settings, personas: Personas, http: httpx.AsyncClient) -> Outlets:
    """Each persona's destinations from the personas file; a persona that names none publishes
    where the install does (PUBLISH_WEBHOOK_URL, else the outbox)."""
    own = publisher(settings, http)
    default = (Outlet(own.name, own.name, publisher=own),)
    by_persona = {
        handle: tuple(destination_outlet(settings, handle, spec, own, http) for spec in specs)
        for handle, persona in personas.by_handle.items()
        if (specs := persona.destinations)
    }
    return Outlets(by_persona, default)


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
    account = spec.options.get("handle")
    if spec.kind == "bluesky":
        return BlueskyDestination(
            handle=spec.options["handle"],
            app_password=keys["app_password"],
            password_setting=settings_of["app_password"],
            service_url=settings.bluesky_service_url,
        )
    if spec.kind == "mastodon":
        return MastodonDestination(
            spec.options["instance"],
            keys["access_token"],
            token_setting=settings_of["access_token"],
            handle=account,
        )
    return XDestination(
        keys["consumer_key"],
        keys["consumer_secret"],
        keys["access_token"],
        keys["access_token_secret"],
        api_url=settings.x_api_url,
        credential_settings=tuple(settings_of[w] for w in needed),
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
