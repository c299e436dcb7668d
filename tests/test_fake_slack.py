"""Checks the fake Slack's Web API against the real slack_sdk client (Socket Mode and HTTP mode
with slack_bolt: tests/test_fake_slack_modes.py)."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from tests.fake_slack_client import api_error, client_for, section, slack
from tests.fakes.slack import FakeSlack

__all__ = ["slack"]  # the fixture, used by name


@pytest.mark.asyncio
async def test_post_update_react_and_read_back(slack: FakeSlack) -> None:
    client = client_for(slack)
    auth = await client.auth_test()
    assert (auth["user_id"], auth["bot_id"], auth["team_id"]) == ("U0BOT", "B0BOT", "T0001")

    meta = {"event_type": "draft_posted", "event_payload": {"draft_id": 7}}
    first = await client.chat_postMessage(
        channel="C1", text="Draft 7", blocks=[section("*Draft 7*")], metadata=meta
    )
    assert first["channel"] == "C1" and first["message"]["bot_id"] == "B0BOT"
    reply = await client.chat_postMessage(channel="C1", text="step 1", thread_ts=first["ts"])
    assert float(reply["ts"]) > float(first["ts"])
    assert first["ts"].split(".")[1].isdigit() and len(first["ts"].split(".")[1]) == 6

    updated = await client.chat_update(channel="C1", ts=first["ts"], text="Draft 7 (approved)")
    assert updated["message"]["text"] == "Draft 7 (approved)"
    assert slack.messages("C1")[0].blocks == [section("*Draft 7*")]  # blocks kept
    assert (await api_error(client.chat_update(channel="C1", ts="1.000001", text="x"))).response[
        "error"
    ] == "message_not_found"

    await client.reactions_add(channel="C1", timestamp=first["ts"], name="white_check_mark")
    err = await api_error(
        client.reactions_add(channel="C1", timestamp=first["ts"], name="white_check_mark")
    )
    assert err.response["error"] == "already_reacted"
    assert slack.reactions_on("C1", first["ts"]) == {"white_check_mark": ["U0BOT"]}

    history = await client.conversations_history(channel="C1")
    assert [m["ts"] for m in history["messages"]] == [first["ts"]]  # replies are not listed
    assert "metadata" not in history["messages"][0]
    assert history["messages"][0]["reply_count"] == 1
    with_meta = await client.conversations_history(channel="C1", include_all_metadata=True)
    assert with_meta["messages"][0]["metadata"] == meta
    thread = await client.conversations_replies(channel="C1", ts=first["ts"])
    assert [m["text"] for m in thread["messages"]] == ["Draft 7 (approved)", "step 1"]

    assert [m.text for m in slack.messages("C1", thread_ts=first["ts"])] == ["step 1"]
    assert slack.calls_of("chat.update")[0].params["ts"] == first["ts"]
    assert slack.calls_of("chat.postMessage")[0].params["metadata"] == meta

    await client.chat_delete(channel="C1", ts=reply["ts"])
    assert [m.ts for m in slack.messages("C1")] == [first["ts"]]


@pytest.mark.asyncio
async def test_auth_channels_and_unknown_methods(slack: FakeSlack) -> None:
    bad = AsyncWebClient(token="xoxb-wrong", base_url=slack.api_url)
    assert (await api_error(bad.auth_test())).response["error"] == "invalid_auth"
    client = client_for(slack)
    err = await api_error(client.api_call("chat.fly", json={"channel": "C1"}))
    assert err.response["error"] == "unknown_method"
    err = await api_error(client.chat_postMessage(channel="Xnope", text="hi"))
    assert err.response["error"] == "channel_not_found"
    slack.create_channel("C9", member=False)
    err = await api_error(client.chat_update(channel="C9", ts="1.000100", text="hi"))
    assert err.response["error"] == "not_in_channel"
    # Form-encoded with the token as a field works too.
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            slack.api_url + "chat.postMessage",
            data={"token": slack.bot_token, "channel": "C2", "blocks": json.dumps([section("x")])},
        ) as resp,
    ):
        body = await resp.json()
    assert body["ok"] and slack.messages("C2")[0].missing_fallback
    assert slack.calls[-1].params["blocks"] == [section("x")]  # recorded JSON-decoded
    strict = FakeSlack(strict_channels=True)
    async with strict:
        err = await api_error(client_for(strict).chat_postMessage(channel="C1", text="x"))
        assert err.response["error"] == "channel_not_found"


@pytest.mark.asyncio
async def test_channel_membership_and_chat_write_public(slack: FakeSlack) -> None:
    """Outside its channels the bot may only post into public ones, and only with
    chat:write.public (which the manifest does not ask for)."""
    client = client_for(slack)
    slack.create_channel("CPUB", member=False)
    slack.create_channel("CPRIV", member=False, is_private=True)
    err = await api_error(client.chat_postMessage(channel="CPUB", text="card"))
    assert err.response["error"] == "not_in_channel"
    err = await api_error(client.chat_postMessage(channel="CPRIV", text="card"))
    assert err.response["error"] == "channel_not_found"  # a private channel is invisible
    err = await api_error(client.chat_postEphemeral(channel="CPRIV", user="U1", text="psst"))
    assert err.response["error"] == "channel_not_found"
    assert slack.messages() == []
    slack.invite_bot("CPRIV")
    assert (await client.chat_postMessage(channel="CPRIV", text="now"))["ok"]

    async with FakeSlack(scopes={*slack.scopes, "chat:write.public"}) as wide:
        wide_client = client_for(wide)
        wide.create_channel("CPUB", member=False)
        posted = await wide_client.chat_postMessage(channel="CPUB", text="card")
        assert posted["ok"] and not wide.bot_is_member("CPUB")
        ts = str(posted["ts"])
        refused = {
            "chat.update": wide_client.chat_update(channel="CPUB", ts=ts, text="edit"),
            "chat.postEphemeral": wide_client.chat_postEphemeral(
                channel="CPUB", user="U1", text="psst"
            ),
            "reactions.add": wide_client.reactions_add(channel="CPUB", timestamp=ts, name="x"),
            "files": wide_client.files_upload_v2(content=b"img", filename="a.png", channel="CPUB"),
            "history": wide_client.conversations_history(channel="CPUB"),
        }
        for name, call in refused.items():
            assert (await api_error(call)).response["error"] == "not_in_channel", name
        wide.invite_bot("CPUB")
        assert (await wide_client.reactions_add(channel="CPUB", timestamp=ts, name="x"))["ok"]


@pytest.mark.asyncio
async def test_text_limits_count_utf16_units(slack: FakeSlack) -> None:
    """An emoji outside the BMP is two UTF-16 units: 1501 of them are over a section's 3000."""
    client = client_for(slack)
    err = await api_error(
        client.chat_postMessage(channel="C1", text="t", blocks=[section("😀" * 1501)])
    )
    assert err.response["error"] == "invalid_blocks"
    header = {"type": "header", "text": {"type": "plain_text", "text": "😀" * 76}}
    err = await api_error(client.chat_postMessage(channel="C1", text="t", blocks=[header]))
    assert err.response["error"] == "invalid_blocks"
    header["text"]["text"] = "😀" * 75
    assert (await client.chat_postMessage(channel="C1", text="t", blocks=[header]))["ok"]
    posted = await client.chat_postMessage(channel="C1", text="a" + "😀" * 20_000)
    assert posted["message"]["text"] == "a" + "😀" * 19_999  # no half of a surrogate pair kept


@pytest.mark.asyncio
async def test_block_kit_limits(slack: FakeSlack) -> None:
    client = client_for(slack)

    async def error_for(blocks: list[dict[str, Any]]) -> str:
        err = await api_error(client.chat_postMessage(channel="C1", text="t", blocks=blocks))
        return str(err.response["error"])

    assert await error_for([section(f"{i}") for i in range(51)]) == "invalid_blocks"
    assert await error_for([section("x" * 3001)]) == "invalid_blocks"
    header = {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}
    assert await error_for([header]) == "invalid_blocks"
    fields = [{"type": "mrkdwn", "text": "f"}] * 11
    assert await error_for([{"type": "section", "fields": fields}]) == "invalid_blocks"
    long_field = [{"type": "mrkdwn", "text": "f" * 2001}]
    assert await error_for([{"type": "section", "fields": long_field}]) == "invalid_blocks"
    assert await error_for([{"type": "image", "image_url": "https://x/y.png"}]) == "invalid_blocks"
    assert await error_for([section("x" * 2900)] * 5) == "msg_blocks_too_long"
    ok = await client.chat_postMessage(
        channel="C1", text="t", blocks=[section(f"{i}") for i in range(50)]
    )
    assert ok["ok"]

    posted = await client.chat_postMessage(channel="C1", text="y" * 40_001)
    stored = slack.message("C1", posted["ts"])
    assert len(posted["message"]["text"]) == 40_000 and stored is not None and stored.truncated
    with pytest.warns(UserWarning):  # slack_sdk itself warns about the missing fallback
        await client.chat_postMessage(channel="C1", blocks=[section("no fallback")])
    assert slack.messages("C1")[-1].missing_fallback


@pytest.mark.asyncio
async def test_files_upload_v2(slack: FakeSlack) -> None:
    client = client_for(slack)
    parent = await client.chat_postMessage(channel="C1", text="Draft")
    result = await client.files_upload_v2(
        content=b"\x89PNG fake bytes",
        filename="hero.png",
        title="Hero image",
        channel="C1",
        thread_ts=parent["ts"],
        initial_comment="Here is the hero image",
    )
    assert result["file"]["title"] == "Hero image" and result["file"]["name"] == "hero.png"
    [upload] = slack.uploaded_files
    assert upload.data == b"\x89PNG fake bytes" and upload.completed
    assert upload.upload_url.startswith(slack.base_url)
    [share] = slack.messages("C1", thread_ts=parent["ts"])
    assert share.text == "Here is the hero image" and share.files is not None
    assert share.files[0]["id"] == upload.id
    assert [c.method for c in slack.calls] == [
        "chat.postMessage",
        "files.getUploadURLExternal",
        "upload_url",
        "files.completeUploadExternal",
    ]


@pytest.mark.asyncio
async def test_rate_limit_retry_after_is_honoured(slack: FakeSlack) -> None:
    slack.fail_next("chat.postMessage", status=429, retry_after=1)
    handler = AsyncRateLimitErrorRetryHandler(max_retry_count=2)
    posted = await client_for(slack, retry_handlers=[handler]).chat_postMessage(
        channel="C1", text="hi"
    )
    assert posted["ok"]
    calls = slack.calls_of("chat.postMessage")
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].time - calls[0].time >= 1.0
    assert slack.early_retries() == []

    slack.fail_next("reactions.add", status=429, retry_after=1)
    err = await api_error(
        client_for(slack).reactions_add(channel="C1", timestamp=posted["ts"], name="eyes")
    )
    assert err.response.status_code == 429 and err.response["error"] == "ratelimited"
    assert err.response.headers["Retry-After"] == "1"
    await client_for(slack).reactions_add(channel="C1", timestamp=posted["ts"], name="eyes")
    assert slack.early_retries("reactions.add") == [slack.calls_of("reactions.add")[1]]


@pytest.mark.asyncio
async def test_server_errors(slack: FakeSlack) -> None:
    slack.fail_next("chat.postMessage", status=503, times=2)
    client = client_for(slack, retry_handlers=[AsyncServerErrorRetryHandler(max_retry_count=1)])
    err = await api_error(client.chat_postMessage(channel="C1", text="hi"))
    assert err.response.status_code == 503
    assert [c.status for c in slack.calls_of("chat.postMessage")] == [503, 503]
    assert (await client.chat_postMessage(channel="C1", text="hi"))["ok"]
