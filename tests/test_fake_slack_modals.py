"""The fake Slack's users.info, trigger_ids and views.open, checked with the real slack_sdk
client, and the payloads of a click on the Home tab and of a modal's submission."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack import FakeSlack


@pytest_asyncio.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


def client_for(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)


def plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def text_input(block_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain(block_id.title()),
        "element": {"type": "plain_text_input", "action_id": "a"},
        **extra,
    }


def modal(**changes: Any) -> dict[str, Any]:
    view = {
        "type": "modal",
        "title": plain("Settings"),
        "submit": plain("Save"),
        "callback_id": "cb",
        "blocks": [text_input("one")],
    }
    return {**view, **changes}


async def error_of(
    client: AsyncWebClient, user: str, view: dict[str, Any], slack: FakeSlack
) -> str:
    with pytest.raises(SlackApiError) as info:
        await client.views_open(trigger_id=slack.issue_trigger(user), view=view)
    return str(info.value.response["error"]) + " " + str(info.value.response.data)


async def test_users_info_says_who_is_an_admin_and_needs_users_read(slack: FakeSlack) -> None:
    slack.add_user("UADMIN", is_admin=True)
    slack.add_user("UOWNER", is_owner=True)
    slack.add_member("C1", "UMEMBER")
    client = client_for(slack)
    for user, admin, owner in (
        ("UADMIN", True, False),
        ("UOWNER", False, True),
        ("UMEMBER", False, False),
    ):
        found = (await client.users_info(user=user))["user"]
        assert (found["id"], found["is_admin"], found["is_owner"]) == (user, admin, owner)
    with pytest.raises(SlackApiError) as info:
        await client.users_info(user="UNOBODY")
    assert info.value.response["error"] == "user_not_found"
    narrow = FakeSlack(scopes=[s for s in slack.scopes if s != "users:read"])
    async with narrow:
        narrow.add_user("UADMIN", is_admin=True)
        with pytest.raises(SlackApiError) as info:
            await client_for(narrow).users_info(user="UADMIN")
        assert (info.value.response["error"], info.value.response["needed"]) == (
            "missing_scope",
            "users:read",
        )


async def test_a_trigger_id_opens_one_view_within_three_seconds(slack: FakeSlack) -> None:
    client = client_for(slack)
    trigger = slack.issue_trigger("U1")
    opened = (await client.views_open(trigger_id=trigger, view=modal()))["view"]
    assert opened["id"].startswith("V") and slack.open_views["U1"]["id"] == opened["id"]
    for given, error in ((trigger, "exchanged_trigger_id"), ("1.2.3", "invalid_trigger_id")):
        with pytest.raises(SlackApiError) as info:
            await client.views_open(trigger_id=given, view=modal())
        assert info.value.response["error"] == error
    late = slack.issue_trigger("U1")
    slack.age_triggers(3.1)
    with pytest.raises(SlackApiError) as info:
        await client.views_open(trigger_id=late, view=modal())
    assert info.value.response["error"] == "expired_trigger_id"
    just_in_time = slack.issue_trigger("U1")
    slack.age_triggers(2.9)
    await client.views_open(trigger_id=just_in_time, view=modal())


async def test_views_open_checks_the_modal_as_slack_does(slack: FakeSlack) -> None:
    client = client_for(slack)
    wrong = {
        "must be modal": modal(type="home"),
        "/view/title/text": modal(title=plain("x" * 25)),
        "missing required field: submit": modal(submit=None),
        "/view/blocks]": modal(blocks=[{"type": "divider"}] * 101),
        "/view/callback_id": modal(callback_id="c" * 256),
        "/view/private_metadata": modal(private_metadata="m" * 3001),
        "duplicate block_id": modal(blocks=[text_input("one"), text_input("one")]),
        "label": modal(blocks=[{**text_input("one"), "label": None}]),
        "/element/type": modal(blocks=[text_input("one", element={"type": "slider"})]),
        "is_decimal_allowed": modal(
            blocks=[text_input("one", element={"type": "number_input", "action_id": "n"})]
        ),
        "initial_option": modal(
            blocks=[
                text_input(
                    "one",
                    element={
                        "type": "radio_buttons",
                        "options": [{"text": plain("Yes"), "value": "yes"}],
                        "initial_option": {"text": plain("No"), "value": "no"},
                    },
                )
            ]
        ),
    }
    for said, view in wrong.items():
        error = await error_of(
            client, "U1", {k: v for k, v in view.items() if v is not None}, slack
        )
        assert error.startswith("invalid_arguments") and said in error, (said, error)
    # No inputs, no submit button needed.
    await client.views_open(
        trigger_id=slack.issue_trigger("U1"),
        view=modal(submit=None, blocks=[{"type": "section", "text": plain("hi")}]),
    )


async def test_a_submission_carries_each_input_in_slacks_shape(slack: FakeSlack) -> None:
    options = [{"text": plain("Yes"), "value": "yes"}, {"text": plain("No"), "value": "no"}]
    view = modal(
        blocks=[
            text_input(
                "people",
                element={"type": "multi_users_select", "action_id": "p", "initial_users": ["U1"]},
            ),
            text_input("count", element={"type": "number_input", "is_decimal_allowed": False}),
            text_input(
                "choice",
                element={"type": "radio_buttons", "options": options, "initial_option": options[1]},
            ),
            text_input("note", optional=True),
        ]
    )
    await client_for(slack).views_open(trigger_id=slack.issue_trigger("U1"), view=view)
    opened = slack.open_views["U1"]
    payload = slack.view_submission_payload("U1", opened, {"count": "3", "choice": "yes"})
    values = payload["view"]["state"]["values"]
    assert payload["type"] == "view_submission" and payload["user"]["id"] == "U1"
    assert values["people"] == {"p": {"type": "multi_users_select", "selected_users": ["U1"]}}
    [count] = values["count"].values()  # Slack named the action the view left unnamed
    assert count == {"type": "number_input", "value": "3"}
    assert next(iter(values["choice"].values()))["selected_option"] == options[0]
    assert next(iter(values["note"].values())) == {"type": "plain_text_input", "value": None}
    for refused in ({"count": "1.5"}, {"count": ""}, {"choice": "maybe"}, {"nothing": "x"}):
        with pytest.raises(ValueError):
            slack.view_submission_payload("U1", opened, refused)
