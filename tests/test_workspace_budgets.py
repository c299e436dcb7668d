"""A workspace with a daily budget of its own spends from it alone: one Slack workspace and one
Discord server on one install, a priced text provider counted at the fake. The Slack
workspace's budget running out refuses only its calls (nothing written, nothing asked of the
provider), the server keeps the install's DAILY_BUDGET_USD, a raised budget applies to the next
command, and `/costs` in each shows only what it spent.

Output costs $40 per million tokens and input nothing: a plan's estimate is $0.08 (2000 tokens),
and every answer uses 1000 output tokens, so each /propose spends $0.04."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from bot.bootstrap import App, build
from bot.platforms import adapters_for
from handlers.workspace_settings import SettingsForm
from tests.discord_support import Bot as DiscordBot
from tests.discord_support import discord_py_restored, discord_settings
from tests.fakes.discord import FakeDiscord
from tests.fakes.providers import FakeOpenAI
from tests.fakes.slack import FakeSlack
from tests.provider_support import ScriptedModel
from tests.slack_support import SECRET
from tests.test_budget_concurrency import KEY
from tests.test_budget_processes import priced

WRITER, CHANNEL = "UWRITER", "C1"


@dataclass
class TwoPlatforms:
    app: App
    slack: FakeSlack
    slack_url: str
    slack_adapter: object
    discord: DiscordBot
    llm: FakeOpenAI

    @property
    def slack_workspace(self) -> str:
        return f"slack:{self.slack.team_id}"

    async def slack_command(self, name: str, text: str) -> str:
        """What the Slack user read in answer (the ephemeral note), or '' if none came."""
        before = len(self.slack.ephemerals)
        status, _ = await self.slack.send_command(
            self.slack_url,
            name,
            text,
            signing_secret=SECRET,
            user_id=WRITER,
            channel_id=CHANNEL,
        )
        assert status == 200
        await self.slack_adapter.wait_idle()  # type: ignore[attr-defined]
        await self.app.room.wait_idle(timeout=30)
        return "\n".join(e.text for e in self.slack.ephemerals[before:])

    async def discord_command(self, name: str, **options: object) -> str:
        shown = await self.discord.command(name, **options)
        await self.discord.idle()
        answer = self.discord.followup(shown)
        return "\n".join(
            [answer.get("content") or ""]
            + [str(e.get("title") or "") for e in answer.get("embeds") or []]
        )

    async def plans(self) -> list[tuple[object, ...]]:
        rows = await self.app.room.deps.db.fetchall(
            "SELECT platform, workspace FROM plans ORDER BY id"
        )
        return [tuple(r) for r in rows]


@contextlib.asynccontextmanager
async def two_platforms(tmp_path: Path, shared_budget: float) -> AsyncIterator[TwoPlatforms]:
    model = ScriptedModel(prompt_tokens=100, completion_tokens=1000)
    with discord_py_restored():
        async with (
            FakeSlack() as slack,
            FakeDiscord() as discord,
            FakeOpenAI(api_key=KEY, reply_fn=model) as llm,
        ):
            settings = discord_settings(
                discord,
                tmp_path,
                SLACK_BOT_TOKEN=slack.bot_token,
                SLACK_SIGNING_SECRET=SECRET,
                SLACK_API_URL=slack.api_url,
                SLACK_PORT=0,
                **priced(llm, shared_budget),
            )
            async with build(settings) as app:
                slack_adapter, discord_adapter = adapters_for(settings, app.room)
                await slack_adapter.start()
                await discord_adapter.start()
                await app.room.start()
                try:
                    bot = DiscordBot(discord, app, discord_adapter, settings)  # type: ignore[arg-type]
                    yield TwoPlatforms(
                        app,
                        slack,
                        slack_adapter.events_url,  # type: ignore[attr-defined]
                        slack_adapter,
                        bot,
                        llm,
                    )
                finally:
                    await app.room.stop()
                    await discord_adapter.stop()
                    await slack_adapter.stop()


def asked(llm: FakeOpenAI) -> int:
    return sum(1 for r in llm.requests if r.path == "/v1/chat/completions")


async def set_budget(both: TwoPlatforms, dollars: str) -> None:
    form = SettingsForm(approvers="UAPPROVER", daily_budget_usd=dollars)
    await both.app.room.save_workspace_settings(
        both.slack_workspace, "slack", "UADMIN", admin=True, form=form
    )


async def test_a_workspace_out_of_its_own_budget_refuses_only_its_own_calls(
    tmp_path: Path,
) -> None:
    async with two_platforms(tmp_path, shared_budget=10.0) as both:
        await set_budget(both, "0.05")
        said = await both.slack_command("/propose", 'idea one special:"1 text"')
        # What is left of the workspace's own budget, not of the install's $10.
        assert "this needs up to $0.08 and $0.05 of $0.05 is left today" in said
        assert "this workspace's daily budget in its draftroom settings" in said
        assert await both.plans() == []
        assert asked(both.llm) == 0

        # The server beside it spends from the install's budget as before.
        said = await both.discord_command("propose", idea='idea two special:"1 text"')
        assert "over the daily budget" not in said
        assert asked(both.llm) == 1

        # Raised, the next Slack command goes ahead: no restart.
        await set_budget(both, "1")
        assert "over the daily budget" not in await both.slack_command(
            "/propose", 'idea three special:"1 text"'
        )
        assert asked(both.llm) == 2
        guild = f"discord:{both.discord.fake.guild_id}"
        assert await both.plans() == [("discord", guild), ("slack", both.slack_workspace)]

        await both.discord_command("propose", idea='idea four special:"1 text"')
        # Each /costs is its own workspace's: $0.04 in Slack, $0.08 in the server.
        assert "Spend, last 7 days: $0.04" in await both.slack_command("/costs", "")
        assert "Spend, last 7 days: $0.08" in await both.discord_command("costs")


async def test_the_install_budget_running_out_leaves_a_workspace_with_its_own(
    tmp_path: Path,
) -> None:
    async with two_platforms(tmp_path, shared_budget=0.05) as both:
        await set_budget(both, "1")
        assert "over the daily budget" in await both.discord_command(
            "propose", idea='idea one special:"1 text"'
        )
        said = await both.slack_command("/propose", 'idea two special:"1 text"')
        assert "over the daily budget" not in said
        assert await both.plans() == [("slack", both.slack_workspace)]
        assert asked(both.llm) == 1
