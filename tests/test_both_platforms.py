"""Slack and Discord in one process, on one core and one database, as `draftroom run` runs them
when both are configured. A plan and its posts live in the channel they were proposed in: from
Discord, a Slack plan reads as no plan at all, and cannot be run or shown there."""

from __future__ import annotations

from pathlib import Path

from bot.bootstrap import build
from bot.platforms import adapters_for
from tests.discord_support import Bot as DiscordBot
from tests.discord_support import discord_py_restored, discord_settings
from tests.fakes.discord import FakeDiscord
from tests.fakes.slack import FakeSlack
from tests.slack_support import SECRET


async def test_a_plan_proposed_on_slack_stays_on_slack(tmp_path: Path) -> None:
    with discord_py_restored():
        async with FakeSlack() as slack, FakeDiscord() as discord:
            settings = discord_settings(
                discord,
                tmp_path,
                SLACK_BOT_TOKEN=slack.bot_token,
                SLACK_SIGNING_SECRET=SECRET,
                SLACK_API_URL=slack.api_url,
                SLACK_PORT=0,
                APPROVERS=f"UAPPROVER,{discord.approver_id}",
            )
            async with build(settings) as app:
                adapters = adapters_for(settings, app.room)
                assert [type(a).__name__ for a in adapters] == ["SlackAdapter", "DiscordAdapter"]
                for adapter in adapters:
                    await adapter.start()
                await app.room.start()
                try:
                    slack_adapter, discord_adapter = adapters
                    url = slack_adapter.events_url  # type: ignore[attr-defined]
                    status, _ = await slack.send_command(
                        url,
                        "/propose",
                        'benchmarks on two platforms special:"1 text"',
                        signing_secret=SECRET,
                        user_id="UWRITER",
                        channel_id="C1",
                    )
                    assert status == 200
                    # The plan is written in the background after the ack: /run waits for it.
                    await slack_adapter.wait_idle()  # type: ignore[attr-defined]
                    status, _ = await slack.send_command(
                        url,
                        "/run",
                        "1",
                        signing_secret=SECRET,
                        user_id="UWRITER",
                        channel_id="C1",
                    )
                    assert status == 200
                    await app.room.wait_idle(timeout=30)
                    await slack_adapter.wait_idle()  # type: ignore[attr-defined]
                    await app.room.wait_idle(timeout=30)
                    assert any(
                        "post 1 · @aiaaron · text · draft 1" in m.text for m in slack.messages("C1")
                    )

                    bot = DiscordBot(discord, app, discord_adapter, settings)  # type: ignore[arg-type]
                    shown = await bot.command("post", post=1)
                    assert bot.followup(shown)["content"].startswith("⚠ there is no post 1 here.")
                    ran = await bot.command("run", plan=1)
                    assert bot.followup(ran)["content"].startswith("⚠ there is no plan 1 here.")
                    runs = await app.room.deps.db.scalar("SELECT COUNT(*) FROM runs")
                    assert runs == 1  # nothing was started from Discord
                    assert not any("benchmarks" in str(m) for m in discord.messages(bot.channel))
                finally:
                    await app.room.stop()
                    for adapter in reversed(adapters):
                        await adapter.stop()
