"""The same bot in Socket Mode: it opens the fake's websocket (the URL from apps.connections.open
on SLACK_API_URL), acknowledges envelopes by envelope_id and serves the same listeners."""

from __future__ import annotations

from pathlib import Path

from bot.bootstrap import build
from bot.slack_adapter import SlackAdapter
from tests.fakes.slack import FakeSlack
from tests.slack_support import APPROVER, CHANNEL, PROPOSER, eventually, header, slack_settings


def cards(fake: FakeSlack, prefix: str) -> list[str]:
    bot_messages = fake.messages(CHANNEL, user=fake.bot_user_id)
    return [header(m) for m in bot_messages if not m.is_reply and header(m).startswith(prefix)]


async def test_socket_mode_serves_commands_and_events(fake: FakeSlack, tmp_path: Path) -> None:
    settings = slack_settings(tmp_path, fake, socket=True, SLACK_SIGNING_SECRET=None)
    async with build(settings) as app:
        adapter = SlackAdapter(settings, app.room)
        await adapter.start()
        await app.room.start()
        try:
            assert adapter.socket_mode
            await fake.wait_socket_connected()
            [opened] = fake.calls_of("apps.connections.open")
            assert opened.token == fake.app_token

            payload = fake.slash_command_payload("/propose", "an idea", user_id=PROPOSER)
            envelope_id = await fake.push_envelope("slash_commands", payload)
            ack = await fake.wait_ack(envelope_id, timeout=3)
            assert ack.envelope_id == envelope_id
            await eventually(lambda: bool(cards(fake, "plan 1 ·")))
            await adapter.wait_idle()

            plan_card = next(m for m in fake.messages(CHANNEL) if header(m).startswith("plan 1"))
            event = fake.reaction_event(
                "reaction_added",
                user=APPROVER,
                reaction="white_check_mark",
                channel=CHANNEL,
                ts=plan_card.ts,
            )
            await fake.wait_ack(await fake.push_envelope("events_api", event))
            await eventually(lambda: bool(cards(fake, "run 1 · plan 1")))
            await adapter.wait_idle()
            await app.room.wait_idle(timeout=30)
            await eventually(lambda: bool(cards(fake, "post 1 · ")))
            assert cards(fake, "run 1")[0].endswith("done · 1/1 items finished")
        finally:
            await adapter.stop()
            await app.room.stop()
    assert fake.socket.connections == []
