"""An Enterprise Grid org installs draftroom org-wide: one installation (and one token) for all
of its workspaces. Requests from any of its workspaces are the org's: its plans are numbered,
stored and answered as the org's, every call goes with the org's token, and an approver's ✅ in
one of its workspaces runs the plan. Checked at the fake Slack, which issues the org's grant as
Slack does (`team: null`, `enterprise`, `is_enterprise_install: true`)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from tests.fakes.slack import FakeSlack
from tests.slack_oauth_support import install, installation_rows, oauth_settings, register_app
from tests.slack_support import APPROVER, CHANNEL, PROPOSER, SECRET, Bot, running_bot

ORG, FIRST, SECOND = "E0ORG", "T0FIRST", "T0SECOND"  # the org and two of its workspaces


def org_payload(payload: dict[str, Any], workspace: str) -> dict[str, Any]:
    """A request of the fake as Slack sends it from `workspace` of the org-wide install."""
    sent = copy.deepcopy(payload)
    sent.update(team_id=workspace, enterprise_id=ORG)
    if "authorizations" in sent:  # an Events API envelope
        sent["is_enterprise_install"] = True
        for authorization in sent["authorizations"]:
            authorization.update(team_id=None, enterprise_id=ORG, is_enterprise_install=True)
    else:  # a slash command's form
        sent["is_enterprise_install"] = "true"
    return sent


async def org_command(bot: Bot, workspace: str, name: str, text: str) -> int:
    payload = bot.fake.slash_command_payload(name, text, user_id=PROPOSER, channel_id=CHANNEL)
    status, _ = await bot.fake.send_command(
        bot.url, payload=org_payload(payload, workspace), signing_secret=SECRET
    )
    return status


async def test_an_org_wide_install_serves_each_workspace_of_the_org(tmp_path: Path) -> None:
    async with FakeSlack() as fake, running_bot(fake, oauth_settings(tmp_path, fake)) as bot:
        register_app(fake, bot)
        fake.add_team(ORG, "Org", org=True)
        status, page, _ = await install(bot, ORG)
        assert status == 200 and "draftroom is installed in Org" in page, page
        [row] = await installation_rows(bot.app.room.deps.db)
        assert (row["enterprise_id"], row["team_id"], row["is_enterprise_install"]) == (
            ORG,
            "",
            1,
        )

        start = len(fake.calls)
        assert await org_command(bot, FIRST, "/propose", "benchmarks as safety cases") == 200
        assert await org_command(bot, SECOND, "/propose", "model cards as marketing") == 200
        await bot.settle()
        rows = await bot.app.room.deps.db.fetchall(
            "SELECT number, workspace, channel_id FROM plans ORDER BY id"
        )
        assert [(r["number"], r["workspace"], r["channel_id"]) for r in rows] == [
            (1, f"slack:{ORG}", f"{ORG}/{CHANNEL}"),
            (2, f"slack:{ORG}", f"{ORG}/{CHANNEL}"),
        ]  # one org: one numbering, one channel C1 (a channel id is unique across an org)
        posted = [c for c in fake.calls[start:] if c.method == "chat.postMessage"]
        assert len(posted) == 2 and all(fake.team_of(c.token) == ORG and c.ok for c in posted)
        assert posted[0].params["channel"] == CHANNEL  # Slack's own id, without the org

        # An approver's ✅ on plan 1's card, in the first workspace, runs it with the org's token.
        card = fake.messages(CHANNEL, team=ORG)[0]
        reaction = fake.reaction_event(
            "reaction_added", user=APPROVER, reaction="white_check_mark", channel=CHANNEL,
            ts=card.ts,
        )  # fmt: skip
        status, _ = await fake.send_event(
            bot.url, org_payload(reaction, FIRST), signing_secret=SECRET
        )
        assert status == 200
        await bot.settle()
        drafts = [
            m for m in fake.messages(CHANNEL, team=ORG) if " · draft " in str(m.blocks)
        ]  # fmt: skip
        assert drafts and all(m.team == ORG for m in drafts)
        runs = await bot.app.room.deps.db.fetchall("SELECT plan_id, status FROM runs")
        assert [r["status"] for r in runs] == ["done"]
