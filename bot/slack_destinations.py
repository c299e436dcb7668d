"""The Slack modal where a workspace admin enters a persona's destination (a Bluesky, Mastodon
or X account and its credentials), and the core's form read back from its submission.

Slack's modals cannot mask an input, so a credential is shown while it is typed, as in any
Slack app that asks for a token; it is never shown again: the Home tab and the settings page
list the account, not its keys, and the modal opens empty each time. Each input block's id is
the core form's field name, so the core's error for a field is shown on its block."""

from __future__ import annotations

from typing import Any

from bot.slack_settings_forms import (
    MAX_OPTIONS,
    form_modal,
    input_block,
    option,
    plain,
    state_of,
    text_of,
)
from handlers.workspace_destinations import DestinationForm
from handlers.workspace_settings import NETWORKS

DESTINATIONS_CALLBACK_ID = "draftroom_destinations"
REMOVE = "remove"
SECRET_MAX = 500  # the core refuses longer; Slack's own input limit is 3000

Block = dict[str, Any]

# (field, label, hint): the account, then each network's credentials.
_TEXT_FIELDS = (
    ("handle", "Account", "Bluesky: its handle (aiaaron.bsky.social). Mastodon, X: optional."),
    ("instance", "Mastodon server", "Mastodon only: like https://mastodon.social"),
    ("app_password", "Bluesky app password", "Bluesky: Settings → Privacy and security."),
    ("access_token", "Access token", "Mastodon: the app's token. X: the account's token."),
    ("consumer_key", "X API key", "X only: the app's consumer key."),
    ("consumer_secret", "X API key secret", "X only: the app's consumer secret."),
    ("access_token_secret", "X access token secret", "X only."),
)


def destinations_modal(workspace: str, personas: tuple[str, ...]) -> dict[str, Any]:
    """The modal, empty: a persona of the workspace, a network, the account and its keys."""
    persona_options = [option(h, f"@{h}") for h in personas[:MAX_OPTIONS]]
    networks = [option(kind, name) for kind, name in NETWORKS.items()]
    blocks = [
        input_block(
            "persona",
            "Persona",
            {"type": "static_select", "options": persona_options, "placeholder": plain("Choose")},
            "Whose approved posts go to this account from this workspace.",
        ),
        input_block(
            "network",
            "Network",
            {"type": "radio_buttons", "options": networks},
            "One account per network and persona: a new one replaces the last.",
        ),
        *(
            input_block(
                field,
                label,
                {"type": "plain_text_input", "max_length": SECRET_MAX},
                hint,
                optional=True,
            )
            for field, label, hint in _TEXT_FIELDS
        ),
        input_block(
            REMOVE,
            "Remove instead",
            {"type": "checkboxes", "options": [option(REMOVE, "Remove this destination")]},
            "The persona's posts go where the personas file says again.",
            optional=True,
        ),
    ]
    return form_modal(DESTINATIONS_CALLBACK_ID, "draftroom destinations", workspace, blocks)


def destination_form_of(values: object) -> tuple[DestinationForm, bool]:
    """`view.state.values` as the core's form, and whether the admin asked to remove it."""

    def picked(block_id: str) -> str:
        chosen = state_of(values, block_id).get("selected_option")
        return text_of(chosen.get("value")) if isinstance(chosen, dict) else ""

    typed = {field: text_of(state_of(values, field).get("value")) for field, _, _ in _TEXT_FIELDS}
    ticked = state_of(values, REMOVE).get("selected_options")
    remove = isinstance(ticked, list) and any(
        isinstance(o, dict) and o.get("value") == REMOVE for o in ticked
    )
    form = DestinationForm(persona=picked("persona"), network=picked("network"), **typed)
    return form, remove
