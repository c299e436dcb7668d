"""What only Anthropic's Messages wire format does: its body and headers, and what its API
requires. What it shares with the OpenAI-compatible provider is tested against both in
test_providers_text."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio

from tests.text_wires import TextWire, open_wire, text_request


@pytest_asyncio.fixture
async def wire() -> AsyncIterator[TextWire]:
    async with open_wire("anthropic") as opened:
        yield opened


async def test_request_body_and_headers(wire: TextWire) -> None:
    await wire.provider().complete(text_request(max_tokens=800))

    sent = wire.fake.requests[-1]
    assert (sent.method, sent.path) == ("POST", "/v1/messages")
    assert sent.headers["x-api-key"] == wire.key
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in sent.headers
    body = sent.body
    assert set(body) == {"model", "max_tokens", "system", "messages", "temperature"}
    assert (body["model"], body["max_tokens"], body["temperature"]) == (wire.model, 800, 0.2)
    assert body["system"].startswith("Plan a post about the idea.")
    assert [m["role"] for m in body["messages"]] == ["user"]


async def test_no_temperature_is_sent_when_none_is_set(wire: TextWire) -> None:
    await wire.provider(temperature=None).complete(text_request())
    assert "temperature" not in wire.fake.requests[-1].body


async def test_fake_requires_max_tokens_and_version(wire: TextWire) -> None:
    async with httpx.AsyncClient(base_url=wire.fake.base_url) as http:
        no_max = await http.post(
            "/v1/messages",
            headers={"x-api-key": wire.key, "anthropic-version": "2023-06-01"},
            json={"model": wire.model, "messages": [{"role": "user", "content": "hi"}]},
        )
        no_version = await http.post(
            "/v1/messages",
            headers={"x-api-key": wire.key},
            json={
                "model": wire.model,
                "max_tokens": 5,
                "messages": [{"role": "user", "content": "hi"}],
            },
        )
    assert no_max.status_code == 400
    assert no_max.json()["error"]["message"] == "max_tokens: Field required"
    assert no_version.status_code == 400
