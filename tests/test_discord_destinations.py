"""`/draftroom destination` on the fake Discord: a member with Manage Server enters a Bluesky
account for one of the server's personas; a wrong option is named and nothing is stored, the
credentials are stored sealed and never shown back, the server's next approved post of that
persona goes to that account (at the fake Bluesky), and anyone else is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from handlers.workspace_settings import NOT_AN_ADMIN
from tests.db_rows import rows
from tests.discord_support import (
    discord_py_restored,
    discord_settings,
    embed_text,
    eventually,
    running_bot,
)
from tests.fakes.bluesky_server import FakeBluesky
from tests.fakes.discord import FakeDiscord
from tests.test_discord_reactions import post_id_of, status_of
from tests.test_discord_settings import a_manager

HANDLE, PASSWORD = "brand.bsky.social", "wxyz-abcd-efgh-ijkl"
STORED = "SELECT workspace, persona, kind, secrets_sealed FROM workspace_destinations"


async def entered(fake: FakeDiscord, user: int, **options: Any) -> Any:
    ix = await fake.dispatch_interaction("draftroom destination", options, user)
    await eventually(lambda: ix.response_type is not None)
    return ix


async def test_a_manager_enters_a_bluesky_account_and_the_next_post_goes_there(
    tmp_path: Path,
) -> None:
    key = Fernet.generate_key().decode()
    with discord_py_restored():
        async with (
            FakeDiscord() as fake,
            FakeBluesky(handle=HANDLE, app_password=PASSWORD) as bluesky,
        ):
            manager = a_manager(fake)
            settings = discord_settings(
                fake, tmp_path, SECRETS_KEY=key, BLUESKY_SERVICE_URL=bluesky.url
            )
            async with running_bot(fake, settings) as bot:
                fake.allow_command("draftroom", fake.approver_id)
                good = {"persona": "aiaaron", "network": "bluesky", "account": HANDLE}
                ix = await entered(fake, fake.approver_id, **good, app_password=PASSWORD)
                assert NOT_AN_ADMIN in bot.followup(ix)["content"]
                assert rows(bot.settings.db_path, STORED) == []

                ix = await entered(fake, manager, **good)
                said = embed_text(bot.followup(ix))
                assert "Not saved" in said and "app_password" in said
                assert "Bluesky needs its app password" in said
                assert rows(bot.settings.db_path, STORED) == []

                ix = await entered(fake, manager, **good, app_password=PASSWORD)
                said = embed_text(bot.followup(ix))
                assert f"@aiaaron → Bluesky @{HANDLE} (entered by discord:{manager})" in said
                assert PASSWORD not in said
                [(workspace, persona, kind, sealed)] = rows(bot.settings.db_path, STORED)
                assert (workspace, persona, kind) == (
                    f"discord:{fake.guild_id}",
                    "aiaaron",
                    "bluesky",
                )
                assert PASSWORD not in sealed

                [draft] = await bot.drafted()
                await fake.dispatch_reaction(bot.channel, int(draft["id"]), fake.approver_id, "✅")
                await eventually(lambda: status_of(bot, post_id_of(draft)) == "published", 15)
                assert len(bluesky.posts) == 1
