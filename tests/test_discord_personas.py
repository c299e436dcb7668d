"""`/draftroom personas` on the fake Discord: a member with Manage Server gets a modal filled in
with the personas in force, a persona the install does not have is named and nothing is
stored, and once saved the server's next /propose writes for its default and refuses a persona
it did not choose, with nothing written or spent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.db_rows import rows
from tests.discord_support import Bot, discord_bot, embed_text, eventually
from tests.test_discord_settings import a_manager, submit

CHOSEN = "SELECT workspace, personas, updated_by FROM workspace_publishing"


def stored(bot: Bot, sql: str) -> list[tuple[Any, ...]]:
    return rows(bot.settings.db_path, sql)


async def test_a_manager_chooses_the_servers_personas_and_propose_follows_them(
    tmp_path: Path,
) -> None:
    async with discord_bot(tmp_path) as bot:
        fake = bot.fake
        manager = a_manager(fake)
        ix = await fake.dispatch_interaction("draftroom personas", user_id=manager)
        await eventually(lambda: ix.response_type is not None)
        assert ix.response_type == 9
        modal = fake.open_modal(manager)
        assert modal is not None and [i["custom_id"] for i in modal.inputs] == ["personas"]
        assert modal.values() == {"personas": "aiaaron, labnotes"}  # the install's, default first

        answer = await submit(bot, manager, personas="labnotes, @nobody")
        text = embed_text(answer)
        assert "Not saved" in text and "Personas: handles, the first the default" in text
        assert "'@nobody' is not a persona of this install (they are @aiaaron, @labnotes)" in text
        assert "run /draftroom personas to try again" in text
        assert stored(bot, CHOSEN) == []

        ix = await fake.dispatch_interaction("draftroom personas", user_id=manager)
        await eventually(lambda: fake.open_modal(manager))
        answer = await submit(bot, manager, personas="@LabNotes")
        assert "Personas: @labnotes (default)" in embed_text(answer)
        guild = f"discord:{fake.guild_id}"
        assert stored(bot, CHOSEN) == [(guild, "labnotes", f"discord:{manager}")]

        # No restart: the server's next /propose writes for its one persona...
        writer = fake.non_approver_id
        await bot.command("propose", writer, idea="why evals saturate")
        assert stored(bot, "SELECT id, persona FROM plans") == [(1, "labnotes")]

        # ...and one naming another persona is refused before anything is written or spent.
        spent = stored(bot, "SELECT id FROM steps")
        ix = await bot.command("propose", writer, idea="benchmarks", persona="aiaaron")
        said = bot.followup(ix)
        assert "@aiaaron is not one of this workspace's personas (@labnotes)" in (
            said["content"] + embed_text(said)
        )
        assert stored(bot, "SELECT id, persona FROM plans") == [(1, "labnotes")]
        assert stored(bot, "SELECT id FROM steps") == spent


async def suggested_personas(bot: Bot, typed: str) -> list[str]:
    """The personas /propose suggests to a member of the fake's server who typed `typed`."""
    fake = bot.fake
    ix = await fake.dispatch_interaction(
        "propose", {"idea": "x", "persona": typed}, focused="persona"
    )
    await fake.wait_until(lambda: ix.response_type == 8)
    [response] = [r for r in fake.interaction_responses if r.interaction_id == ix.id]
    return [c["value"] for c in response.data["choices"]]


async def test_propose_suggests_the_servers_own_personas(tmp_path: Path) -> None:
    async with discord_bot(tmp_path) as bot:
        assert await suggested_personas(bot, "") == ["aiaaron", "labnotes"]  # the install's
        assert await suggested_personas(bot, "@lab") == ["labnotes"]

        manager = a_manager(bot.fake)
        await bot.fake.dispatch_interaction("draftroom personas", user_id=manager)
        await eventually(lambda: bot.fake.open_modal(manager))
        answer = await submit(bot, manager, personas="labnotes")
        assert "Personas: @labnotes (default)" in embed_text(answer)
        assert await suggested_personas(bot, "") == ["labnotes"]  # at once, no restart
        assert await suggested_personas(bot, "aia") == []
