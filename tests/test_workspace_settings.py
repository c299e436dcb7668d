"""A workspace's settings through the core, as every adapter's form reaches it: a wrong field is
named and nothing is written, only admins save, a save replaces the whole row and applies to
the next decision, and a workspace without its own follows the install's .env."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.bootstrap import build
from handlers.ports import UserError
from handlers.workspace_settings import SettingsForm, SettingsFormError, rules_for
from tests.support import make_settings

SLACK = "slack:T0AAA"
OTHER = "slack:T0BBB"
GUILD = "discord:900000000000000001"


async def rows(app: object) -> list[tuple[object, ...]]:
    db = app.room.deps.db  # type: ignore[attr-defined]
    found = await db.fetchall(
        "SELECT workspace, approvers, editors, approvals_required, allow_self_approval,"
        " daily_budget_usd, updated_by FROM workspace_settings ORDER BY workspace"
    )
    return [tuple(r) for r in found]


@pytest.mark.parametrize(
    ("form", "field", "says"),
    [
        (SettingsForm(approvers="U0A1, bob"), "approvers", "'bob' is not a Slack user id"),
        (SettingsForm(approvers=""), "approvers", "at least one approver"),
        (SettingsForm(approvers="U0A1", approvals_required="two"), "approvals_required", "1 to"),
        (SettingsForm(approvers="U0A1", approvals_required="0"), "approvals_required", "1 to"),
        (
            SettingsForm(approvers="U0A1 <@U0A2>", approvals_required="3"),
            "approvals_required",
            "3 approvals need at least 3 approvers; 2 are named",
        ),
        (SettingsForm(approvers="U0A1", allow_self_approval="maybe"), "allow_self_approval", "yes"),
        (SettingsForm(approvers="U0A1", editors="#general"), "editors", "'#general'"),
        (SettingsForm(approvers="U0A1", daily_budget_usd="-1"), "daily_budget_usd", "from 0"),
        (SettingsForm(approvers="U0A1", daily_budget_usd="lots"), "daily_budget_usd", "from 0"),
    ],
)
async def test_a_wrong_field_is_named_and_nothing_is_written(
    tmp_path: Path, form: SettingsForm, field: str, says: str
) -> None:
    async with build(make_settings(tmp_path)) as app:
        with pytest.raises(SettingsFormError) as refused:
            await app.room.save_workspace_settings(SLACK, "slack", "U0ADMIN", admin=True, form=form)
        assert list(refused.value.errors) == [field]
        assert says in refused.value.errors[field]
        assert says in str(refused.value)
        assert await rows(app) == []


async def test_only_admins_save(tmp_path: Path) -> None:
    async with build(make_settings(tmp_path)) as app:
        with pytest.raises(UserError, match="only this workspace's admins"):
            await app.room.save_workspace_settings(
                SLACK, "slack", "U0A1", admin=False, form=SettingsForm(approvers="U0A1")
            )
        assert await rows(app) == []


async def test_a_save_replaces_the_row_and_applies_to_the_next_decision(tmp_path: Path) -> None:
    async with build(make_settings(tmp_path, APPROVERS="U0ENV")) as app:
        deps = app.room.deps
        assert (await rules_for(deps, SLACK)).roles.is_approver("slack:U0ENV")
        before = await app.room.workspace_settings(SLACK)
        assert (before.own, before.approvers) == (False, ("slack:U0ENV",))

        first = SettingsForm("U0A1, <@U0A2|ann>", "U0E1", "2", "yes", "$12.50")
        await app.room.save_workspace_settings(SLACK, "slack", "U0ADMIN", admin=True, form=first)
        rules = await rules_for(deps, SLACK)
        assert rules.roles.is_approver("slack:U0A2")
        assert not rules.roles.is_approver("slack:U0ENV")
        assert (rules.approvals_required, rules.allow_self_approval) == (2, True)
        assert (await app.room.workspace_settings(SLACK)).daily_budget_usd == 12.5
        # Another workspace, and the console, still follow the .env.
        assert (await rules_for(deps, OTHER)).roles.is_approver("slack:U0ENV")
        assert (await rules_for(deps, None)).approvals_required == 1

        await app.room.save_workspace_settings(
            SLACK, "slack", "U0ADMIN2", admin=True, form=SettingsForm(approvers="U0A3")
        )
        assert await rows(app) == [(SLACK, "slack:U0A3", "", 1, 0, None, "slack:U0ADMIN2")]
        shown = await app.room.workspace_settings(SLACK)
        assert shown.own and shown.form() == SettingsForm("U0A3", "", "1", "no", "")


async def test_a_discord_server_takes_ids_and_mentions(tmp_path: Path) -> None:
    async with build(make_settings(tmp_path)) as app:
        form = SettingsForm(approvers="<@!123456789012345678>, 223456789012345678")
        await app.room.save_workspace_settings(
            GUILD, "discord", "323456789012345678", admin=True, form=form
        )
        rules = await rules_for(app.room.deps, GUILD)
        assert rules.roles.is_approver("discord:123456789012345678")
        assert rules.roles.is_approver("discord:223456789012345678")
        with pytest.raises(SettingsFormError, match="not a Discord user id"):
            await app.room.save_workspace_settings(
                GUILD, "discord", "3", admin=True, form=SettingsForm(approvers="U0A1")
            )
