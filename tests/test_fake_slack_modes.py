"""Checks the fake Slack's Socket Mode and HTTP mode against the real slack_bolt app."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp

from tests.fake_slack_client import SECRET, client_for, eventually, slack
from tests.fakes.slack import FakeSlack

__all__ = ["slack"]  # the fixture, used by name


@pytest.mark.asyncio
async def test_socket_mode_with_bolt(slack: FakeSlack) -> None:
    client = client_for(slack)
    app = AsyncApp(client=client, signing_secret=SECRET)
    seen: list[dict[str, Any]] = []

    @app.command("/propose")
    async def propose(ack: Any, command: dict[str, Any], respond: Any, say: Any) -> None:
        await ack(f"Working on: {command['text']}")
        await respond("queued")
        await say(channel=command["channel_id"], text=f"Draft for {command['text']}")

    @app.event("reaction_added")
    async def reacted(event: dict[str, Any]) -> None:
        seen.append(event)

    handler = AsyncSocketModeHandler(app, app_token=slack.app_token)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    try:
        await slack.wait_socket_connected()
        payload = slack.slash_command_payload("/propose", "spring launch", user_id="U1")
        envelope_id = await slack.push_envelope("slash_commands", payload)
        ack = await slack.wait_ack(envelope_id, timeout=3)
        assert ack.payload == {"text": "Working on: spring launch"}
        await eventually(lambda: len(slack.messages("C1")) == 1)
        assert slack.messages("C1")[0].text == "Draft for spring launch"
        assert slack.responses_to(payload["response_url"]) == [{"text": "queued"}]

        ts = slack.messages("C1")[0].ts
        event = slack.reaction_event(
            "reaction_added", user="U1", reaction="white_check_mark", channel="C1", ts=ts
        )
        envelope_id = await slack.push_envelope("events_api", event)
        assert (await slack.wait_ack(envelope_id)).payload is None
        await eventually(lambda: len(seen) == 1)
        assert seen[0]["item"] == {"type": "message", "channel": "C1", "ts": ts}
        assert slack.reactions_on("C1", ts) == {"white_check_mark": ["U1"]}
        assert slack.socket.pushed_envelopes[-1]["retry_attempt"] == 0
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]


@pytest.mark.asyncio
async def test_socket_mode_redelivery_and_reconnect(slack: FakeSlack) -> None:
    app = AsyncApp(client=client_for(slack), signing_secret=SECRET)
    seen: list[tuple[str, list[str] | None]] = []

    @app.event("message")
    async def on_message(body: dict[str, Any], request: Any) -> None:
        seen.append((body["event_id"], request.headers.get("x-slack-retry-num")))

    handler = AsyncSocketModeHandler(app, app_token=slack.app_token)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    try:
        await slack.wait_socket_connected()
        event = slack.message_event("U1", "hello", "C1")
        first = await slack.push_envelope("events_api", event)
        await slack.wait_ack(first)
        await slack.wait_ack(await slack.redeliver_envelope(first))
        await eventually(lambda: len(seen) == 2)
        assert seen == [(event["event_id"], ["0"]), (event["event_id"], ["1"])]

        await slack.disconnect_sockets()  # Slack's "disconnect": the client fetches a new URL
        await eventually(lambda: slack.socket.connection_count == 2)
        assert len(slack.calls_of("apps.connections.open")) == 2
        later = await slack.push_envelope("events_api", slack.message_event("U1", "again", "C1"))
        await slack.wait_ack(later)
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]


@pytest_asyncio.fixture
async def bolt_http(slack: FakeSlack) -> AsyncIterator[tuple[str, AsyncApp]]:
    app = AsyncApp(client=client_for(slack), signing_secret=SECRET)
    runner = web.AppRunner(app.web_app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/slack/events", app
    await runner.cleanup()


@pytest.mark.asyncio
async def test_http_mode_with_bolt(slack: FakeSlack, bolt_http: tuple[str, AsyncApp]) -> None:
    url, app = bolt_http
    seen: list[tuple[str, str | None]] = []

    @app.event("message")
    async def on_message(body: dict[str, Any], context: Any, request: Any) -> None:
        seen.append((body["event_id"], request.headers.get("x-slack-retry-num", [None])[0]))

    @app.command("/propose")
    async def propose(ack: Any, respond: Any) -> None:
        await ack()
        await respond("on it")

    clicked: list[dict[str, Any]] = []

    @app.action("approve")
    async def approve(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        clicked.append(body)

    event = slack.message_event("U1", "hello", "C1")
    status, _ = await slack.send_event(url, event, signing_secret=SECRET)
    assert status == 200
    status, _ = await slack.send_event(url, event, signing_secret=SECRET, retry_num=1)
    assert status == 200
    status, body = await slack.send_event(url, event, signing_secret=SECRET, bad_signature=True)
    assert status == 401 and "invalid request" in body
    old = int(time.time()) - 600
    status, _ = await slack.send_event(url, event, signing_secret=SECRET, timestamp=old)
    assert status == 401
    await eventually(lambda: len(seen) == 2)
    assert seen == [(event["event_id"], None), (event["event_id"], "1")]
    assert slack.messages("C1")[0].user == "U1"  # the user's message is in the fake's history

    status, _ = await slack.send_command(url, "/propose", "x", signing_secret=SECRET)
    assert status == 200
    await eventually(lambda: len(slack.response_url_posts) == 1)
    assert slack.response_url_posts[0].body["text"] == "on it"

    ts = slack.messages("C1")[0].ts
    payload = slack.block_action_payload("approve", value="7", channel="C1", message_ts=ts)
    status, _ = await slack.send_interactive(url, payload, signing_secret=SECRET)
    assert status == 200
    await eventually(lambda: len(clicked) == 1)
    assert clicked[0]["message"]["text"] == "hello" and clicked[0]["actions"][0]["value"] == "7"
    assert [d.status for d in slack.deliveries] == [200, 200, 401, 401, 200, 200]
