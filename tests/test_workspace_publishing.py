"""A workspace's personas and approval channel through the core, as both adapters' forms reach
it: a persona the install does not have is named and nothing is written, only admins save, the
personas' form and the rules' form each leave what the other set, a handle taken out of the
personas file is passed over (with none left, the workspace has every persona again), and an
approval channel must be the workspace's own."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.bootstrap import build
from handlers.ports import UserError
from handlers.workspace_publishing import PersonasForm, persona_for
from handlers.workspace_settings import SettingsForm, SettingsFormError
from storage import workspace_settings
from tests.support import make_settings

SLACK = "slack:T0AAA"
OTHER = "slack:T0BBB"


async def chosen(app: object) -> list[tuple[object, ...]]:
    db = app.room.deps.db  # type: ignore[attr-defined]
    found = await db.fetchall("SELECT workspace, personas FROM workspace_publishing")
    return [tuple(r) for r in found]


@pytest.mark.parametrize(
    ("form", "field", "says"),
    [
        (PersonasForm(""), "personas", "choose at least one persona (@aiaaron, @labnotes)"),
        (PersonasForm("aiaaron, ghost"), "personas", "'ghost' is not a persona of this install"),
        (PersonasForm("aiaaron", "labnotes"), "default_persona", "not one of the personas chosen"),
    ],
)
async def test_a_wrong_persona_is_named_and_nothing_is_written(
    tmp_path: Path, form: PersonasForm, field: str, says: str
) -> None:
    async with build(make_settings(tmp_path)) as app:
        with pytest.raises(SettingsFormError) as refused:
            await app.room.save_workspace_personas(SLACK, "slack", "U0AD", admin=True, form=form)
        assert list(refused.value.errors) == [field]
        assert says in refused.value.errors[field]
        assert await chosen(app) == []


async def test_only_admins_choose(tmp_path: Path) -> None:
    async with build(make_settings(tmp_path)) as app:
        with pytest.raises(UserError, match="only this workspace's admins"):
            await app.room.save_workspace_personas(
                SLACK, "slack", "U0A1", admin=False, form=PersonasForm("labnotes")
            )
        assert await chosen(app) == []


async def test_each_form_leaves_what_the_other_set(tmp_path: Path) -> None:
    async with build(make_settings(tmp_path, APPROVERS="U0ENV")) as app:
        room = app.room
        rules = SettingsForm(approvers="U0A1", daily_budget_usd="3")
        await room.save_workspace_settings(SLACK, "slack", "U0AD", admin=True, form=rules)
        saved = await room.save_workspace_personas(
            SLACK, "slack", "U0AD", admin=True, form=PersonasForm("aiaaron labnotes", "@labnotes")
        )
        assert (saved.approvers, saved.daily_budget_usd) == (("slack:U0A1",), 3.0)
        assert (saved.personas, saved.own_personas) == (("labnotes", "aiaaron"), True)

        again = SettingsForm(approvers="U0A2")
        saved = await room.save_workspace_settings(SLACK, "slack", "U0AD", admin=True, form=again)
        assert saved.approvers == ("slack:U0A2",)
        assert saved.personas == ("labnotes", "aiaaron")
        # Another workspace chose nothing: every persona, the file's default first.
        other = await room.workspace_settings(OTHER)
        assert (other.personas, other.own_personas) == (("aiaaron", "labnotes"), False)
        assert (await persona_for(room.deps, OTHER, None)).handle == "aiaaron"
        assert (await persona_for(room.deps, SLACK, None)).handle == "labnotes"


async def test_a_persona_gone_from_the_file_is_passed_over(tmp_path: Path) -> None:
    async with build(make_settings(tmp_path)) as app:
        deps = app.room.deps
        async with deps.db.transaction() as conn:
            await workspace_settings.put_personas(conn, SLACK, ("gone", "labnotes"), who="x", now=0)
            await workspace_settings.put_personas(conn, OTHER, ("gone",), who="x", now=0)
        assert (await persona_for(deps, SLACK, None)).handle == "labnotes"
        with pytest.raises(UserError, match="@aiaaron is not one of this workspace's"):
            await persona_for(deps, SLACK, "aiaaron")
        # Left with none, the workspace writes for any persona again.
        assert (await persona_for(deps, OTHER, "aiaaron")).handle == "aiaaron"


@pytest.mark.parametrize(
    ("workspace", "channel"),
    [
        (SLACK, "T0BBB/C0APPROVE"),  # another workspace's channel, as OAuth mode names it
        (SLACK, "#approvals"),
        ("discord:900000000000000001", "C0APPROVE"),
    ],
)
async def test_an_approval_channel_not_of_the_workspace_is_refused(
    tmp_path: Path, workspace: str, channel: str
) -> None:
    async with build(make_settings(tmp_path)) as app:
        with pytest.raises(SettingsFormError, match="is not a channel of this workspace"):
            await app.room.save_approval_channel(
                workspace, "slack", "U0AD", admin=True, channel=channel
            )
        with pytest.raises(UserError, match="only this workspace's admins"):
            await app.room.save_approval_channel(
                SLACK, "slack", "U0AD", admin=False, channel="T0AAA/C0APPROVE"
            )
        db = app.room.deps.db
        assert await db.fetchall("SELECT * FROM workspace_publishing") == []
        saved = await app.room.save_approval_channel(
            SLACK, "slack", "U0AD", admin=True, channel="T0AAA/C0APPROVE"
        )
        assert saved.approval_channel == "T0AAA/C0APPROVE"
        assert saved.personas == ("aiaaron", "labnotes") and not saved.own_personas
