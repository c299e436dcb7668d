"""A Slack workspace's own publishing destinations, entered on the App Home: an admin's
"Destinations" opens a modal, a wrong field is named on its block and nothing is stored, and
once saved the workspace's next approved post of that persona goes to that account (at the fake
Bluesky, logged in with the credentials entered), not where the personas file says; the
credentials are stored sealed, shown nowhere, and removing the destination sends posts back."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from cryptography.fernet import Fernet

from bot.slack_settings import OPEN_DESTINATIONS_ACTION
from handlers.workspace_destinations import NO_KEY
from tests.db_rows import rows
from tests.fakes.bluesky_server import FakeBluesky
from tests.fakes.slack import FakeSlack
from tests.slack_support import (
    APPROVER,
    CHANNEL,
    PROPOSER,
    SECRET,
    Bot,
    eventually,
    propose_and_run,
    running_bot,
    slack_settings,
)
from tests.test_slack_settings import ADMIN, WORKSPACE, approve, inputs, open_home, submit

HANDLE, PASSWORD = "brand.bsky.social", "wxyz-abcd-efgh-ijkl"
STORED = "SELECT workspace, persona, kind, options_json, secrets_sealed FROM workspace_destinations"


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        for user in (APPROVER, PROPOSER, ADMIN):
            slack.add_member(CHANNEL, user)
        slack.add_user(ADMIN, is_admin=True)
        yield slack


@pytest_asyncio.fixture
async def bluesky() -> AsyncIterator[FakeBluesky]:
    async with FakeBluesky(handle=HANDLE, app_password=PASSWORD) as server:
        yield server


async def open_destinations(bot: Bot, user: str = ADMIN) -> dict[str, object]:
    status, _ = await bot.fake.click_home_button(
        bot.url, user, OPEN_DESTINATIONS_ACTION, signing_secret=SECRET
    )
    assert status == 200
    await eventually(lambda: user in bot.fake.open_views)
    return bot.fake.open_views[user]


def outbox(tmp_path: Path) -> list[str]:
    folder = tmp_path / "outbox"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


async def test_an_admin_enters_a_bluesky_account_and_the_next_post_goes_there(
    fake: FakeSlack, bluesky: FakeBluesky, tmp_path: Path
) -> None:
    key = Fernet.generate_key().decode()
    settings = slack_settings(tmp_path, fake, SECRETS_KEY=key, BLUESKY_SERVICE_URL=bluesky.url)
    async with running_bot(fake, settings) as bot:
        await open_home(bot, ADMIN)
        assert "Destinations: as the personas file says" in fake.home_text(ADMIN)
        view = await open_destinations(bot)
        assert view["callback_id"] == "draftroom_destinations"
        fields = inputs(view)
        assert [o["value"] for o in fields["persona"]["options"]] == ["aiaaron", "labnotes"]
        assert [o["value"] for o in fields["network"]["options"]] == ["bluesky", "mastodon", "x"]

        answer = await submit(bot, {"persona": "aiaaron", "network": "bluesky", "handle": ""})
        assert answer == {
            "response_action": "errors",
            "errors": {
                "handle": "Bluesky needs the account's handle, like aiaaron.bsky.social",
                "app_password": "Bluesky needs its app password",
            },
        }
        assert rows(settings.db_path, STORED) == []

        entered = {"persona": "aiaaron", "network": "bluesky", "handle": HANDLE}
        assert await submit(bot, {**entered, "app_password": PASSWORD}) == {}
        [(workspace, persona, kind, options, sealed)] = rows(settings.db_path, STORED)
        assert (workspace, persona, kind, options) == (
            WORKSPACE,
            "aiaaron",
            "bluesky",
            f'{{"handle": "{HANDLE}"}}',
        )
        assert PASSWORD not in sealed and Fernet(key.encode()).decrypt(sealed.encode()) == (
            f'{{"app_password": "{PASSWORD}"}}'.encode()
        )
        line = f"Destinations: @aiaaron → Bluesky @{HANDLE} (entered by slack:{ADMIN})"
        await eventually(lambda: line in fake.home_text(ADMIN))
        assert PASSWORD not in fake.home_text(ADMIN)

        # No restart: the next approved post of @aiaaron goes to that account, not the outbox.
        [draft] = await propose_and_run(bot)
        await approve(bot, draft.ts, APPROVER)
        await eventually(lambda: len(bluesky.posts) == 1)
        assert len(bluesky.sessions.created) == 1  # the fake took only the password entered
        assert outbox(tmp_path) == []

        # Removed, the persona's posts go where the personas file says again (the outbox).
        await open_destinations(bot)  # it opens empty: no credential is shown again
        assert await submit(bot, {**entered, "remove": ["remove"]}) == {}
        assert rows(settings.db_path, STORED) == []
        assert await bot.command("/run", "1") == 200
        await bot.settle()
        [second] = [d for d in bot.drafts() if d.ts != draft.ts]
        await approve(bot, second.ts, APPROVER)
        await eventually(lambda: len(outbox(tmp_path)) == 1)
        assert len(bluesky.posts) == 1


async def test_only_an_admin_may_enter_one_and_only_with_a_sealing_key(
    fake: FakeSlack, tmp_path: Path
) -> None:
    settings = slack_settings(tmp_path, fake)  # no SECRETS_KEY
    entered = {"persona": "aiaaron", "network": "mastodon", "instance": "https://m.example"}
    async with running_bot(fake, settings) as bot:
        await open_home(bot, ADMIN)
        await open_destinations(bot)
        answer = await submit(bot, {**entered, "access_token": "tok"})
        assert answer["errors"] == {"persona": NO_KEY[:1].upper() + NO_KEY[1:]}

        # A member who is no admin sends the admin's modal back as their own.
        view = await open_destinations(bot)
        payload = fake.view_submission_payload(PROPOSER, view, {**entered, "access_token": "tok"})
        status, body = await fake.send_interactive(bot.url, payload, signing_secret=SECRET)
        assert status == 200 and json.loads(body)["errors"]["persona"].startswith(
            "Only this workspace's admins"
        )
        assert rows(settings.db_path, STORED) == []
