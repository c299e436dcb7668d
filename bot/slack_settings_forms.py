"""The Slack modals of draftroom's settings, and the core's forms read back from their
submissions: the rules (who approves and edits, approvals, self-approval, budget) and the
personas the workspace writes for. Each input block's id is the core form's field name, so the
core's error for a field is shown on its block."""

from __future__ import annotations

import json
from typing import Any

from bot.slack_blocks import escape
from handlers.workspace_publishing import PersonasForm
from handlers.workspace_settings import SettingsForm, WorkspaceSettings

CALLBACK_ID = "draftroom_settings"
PERSONAS_CALLBACK_ID = "draftroom_personas"
APPROVALS_CALLBACK_ID = "draftroom_approvals"
YES, NO = "yes", "no"
# Slack's limits: a select holds at most 100 options, an option's text 75 characters.
MAX_OPTIONS = 100
OPTION_TEXT_MAX = 75

Block = dict[str, Any]


def plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def input_block(
    block_id: str, label: str, element: Block, hint: str, *, optional: bool = False
) -> Block:
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": plain(label),
        "hint": plain(hint),
        "element": {"action_id": block_id, **element},
    }


def option(value: str, text: str) -> Block:
    return {"text": plain(text), "value": value}


def settings_modal(workspace: str, settings: WorkspaceSettings) -> dict[str, Any]:
    """The modal, its input blocks named as SettingsForm's fields, filled in with `settings`."""
    form = settings.form()
    bare = [who.split(":", 1)[1] for who in settings.approvers]
    editors = [who.split(":", 1)[1] for who in settings.editors]
    yes, no = option(YES, "Yes"), option(NO, "No")
    budget: Block = {"type": "plain_text_input", "placeholder": plain("the install's budget")}
    if form.daily_budget_usd:
        budget["initial_value"] = form.daily_budget_usd
    people: Block = {"type": "multi_users_select", "placeholder": plain("Choose people")}
    blocks = [
        input_block(
            "approvers",
            "Approvers",
            {**people, **({"initial_users": bare} if bare else {})},
            "Whose ✅ on a draft counts, and whose ❌ rejects it.",
        ),
        input_block(
            "editors",
            "Editors",
            {**people, **({"initial_users": editors} if editors else {})},
            "Who may propose and refine plans besides the approvers; nobody: anyone may.",
            optional=True,
        ),
        input_block(
            "approvals_required",
            "Approvals that publish a draft",
            {
                "type": "number_input",
                "is_decimal_allowed": False,
                "initial_value": form.approvals_required,
            },
            "How many approvers' ✅ a draft needs.",
        ),
        input_block(
            "allow_self_approval",
            "Authors may approve their own drafts",
            {
                "type": "radio_buttons",
                "options": [yes, no],
                "initial_option": yes if settings.allow_self_approval else no,
            },
            "The proposer and the writers of a draft's notes.",
        ),
        input_block(
            "daily_budget_usd",
            "Daily budget (USD)",
            budget,
            "Dollars a day this workspace may spend; empty: the install's budget.",
            optional=True,
        ),
    ]
    return form_modal(CALLBACK_ID, "draftroom settings", workspace, blocks)


def form_modal(callback_id: str, title: str, workspace: str, blocks: list[Block]) -> dict[str, Any]:
    """A settings form: its submission names the workspace it was opened in."""
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": json.dumps({"workspace": workspace}),
        "title": plain(title),
        "submit": plain("Save"),
        "close": plain("Cancel"),
        "blocks": blocks,
    }


def notice(text: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": plain("draftroom settings"),
        "close": plain("Close"),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": escape(text)}}],
    }


def state_of(values: object, block_id: str) -> dict[str, Any]:
    """The one element's state of an input block (missing or malformed: empty)."""
    block = values.get(block_id) if isinstance(values, dict) else None
    element = next(iter(block.values()), None) if isinstance(block, dict) and block else None
    return element if isinstance(element, dict) else {}


def text_of(value: object) -> str:
    return value if isinstance(value, str) else ""


def form_of(values: object) -> SettingsForm:
    """`view.state.values` as the core's form: user lists joined by ", ", the rest as text."""

    def users(block_id: str) -> str:
        chosen = state_of(values, block_id).get("selected_users")
        return (
            ", ".join(u for u in chosen if isinstance(u, str)) if isinstance(chosen, list) else ""
        )

    option = state_of(values, "allow_self_approval").get("selected_option")
    return SettingsForm(
        approvers=users("approvers"),
        editors=users("editors"),
        approvals_required=text_of(state_of(values, "approvals_required").get("value")),
        allow_self_approval=text_of(option.get("value")) if isinstance(option, dict) else "",
        daily_budget_usd=text_of(state_of(values, "daily_budget_usd").get("value")),
    )


def _persona_option(handle: str, display_name: str) -> Block:
    text = f"@{handle} · {display_name}" if display_name != handle else f"@{handle}"
    cut = text if len(text) <= OPTION_TEXT_MAX else text[: OPTION_TEXT_MAX - 1] + "…"
    return option(handle, cut)


def personas_modal(
    workspace: str, settings: WorkspaceSettings, choices: list[tuple[str, str]]
) -> dict[str, Any]:
    """The personas modal: which of the install's personas (`choices`: handle, display name)
    the workspace writes for, and its default, filled in with those in force."""
    options = [_persona_option(h, name) for h, name in choices[:MAX_OPTIONS]]
    by_value = {o["value"]: o for o in options}
    chosen = [by_value[h] for h in settings.personas if h in by_value]
    chosen_el: Block = {"type": "multi_static_select", "options": options}
    default_el: Block = {"type": "static_select", "options": options}
    if settings.own_personas and chosen:  # else nothing chosen yet: the first picked leads
        chosen_el["initial_options"] = chosen
        default_el["initial_option"] = chosen[0]
    blocks = [
        input_block(
            "personas",
            "Personas",
            {**chosen_el, "placeholder": plain("Choose personas")},
            "The accounts this workspace writes for, with their pillars and destinations.",
        ),
        input_block(
            "default_persona",
            "Default persona",
            {**default_el, "placeholder": plain("The first chosen")},
            "What /propose writes for when no persona is named; one of those above.",
            optional=True,
        ),
    ]
    return form_modal(PERSONAS_CALLBACK_ID, "draftroom personas", workspace, blocks)


def personas_form_of(values: object) -> PersonasForm:
    """`view.state.values` of the personas modal as the core's form."""
    picked = state_of(values, "personas").get("selected_options")
    handles = [
        text_of(o.get("value")) for o in picked or [] if isinstance(o, dict)
    ] if isinstance(picked, list) else []  # fmt: skip
    default = state_of(values, "default_persona").get("selected_option")
    return PersonasForm(
        personas=", ".join(h for h in handles if h),
        default_persona=text_of(default.get("value")) if isinstance(default, dict) else "",
    )


def approvals_modal(workspace: str) -> dict[str, Any]:
    """The approval channel's modal: a channel picker, empty for drafts beside their plans."""
    picker: Block = {
        "type": "conversations_select",
        "placeholder": plain("Where each plan was proposed"),
        "filter": {"include": ["public", "private"], "exclude_bot_users": True},
    }
    # Not pre-filled: Slack's single selects cannot be emptied again, and empty is a choice
    # (the channel in force is on the Home tab).
    block = input_block(
        "approval_channel",
        "Approval channel",
        picker,
        "Drafts of every plan are posted here for approval; invite draftroom to it first. "
        "Leave it empty to post drafts beside each plan.",
        optional=True,
    )
    return form_modal(APPROVALS_CALLBACK_ID, "draftroom approvals", workspace, [block])


def approval_channel_of(values: object) -> str | None:
    """The channel picked in the approval channel's modal (a plain id), or None."""
    picked = state_of(values, "approval_channel").get("selected_conversation")
    return picked if isinstance(picked, str) and picked else None
