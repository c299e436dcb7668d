"""What only the OpenAI-compatible wire format does: its request body and headers, switchable
response formats, OpenRouter's cost and in-200 errors, and the reasoning-model rules. What it
shares with Anthropic is tested against both in test_providers_text."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from pydantic import ValidationError

from bot.bootstrap import text_provider
from pipeline.providers.base import ProviderError
from pipeline.providers.openai_compat import OpenAICompatibleText
from tests.fakes.providers import FakeOpenAI, Reply
from tests.support import make_settings
from tests.text_wires import Plan, TextWire, open_wire, text_request


@pytest_asyncio.fixture
async def wire() -> AsyncIterator[TextWire]:
    async with open_wire("openai") as opened:
        yield opened


async def test_request_body_and_headers(wire: TextWire) -> None:
    await wire.provider().complete(text_request())

    sent = wire.fake.requests[-1]
    assert (sent.method, sent.path) == ("POST", "/v1/chat/completions")
    assert sent.headers["authorization"] == f"Bearer {wire.key}"
    body = sent.body
    assert set(body) == {"model", "messages", "max_tokens", "temperature", "response_format"}
    assert (body["model"], body["max_tokens"], body["temperature"]) == (wire.model, 500, 0.2)
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "plan", "schema": Plan.model_json_schema(), "strict": False},
    }
    assert [m["role"] for m in body["messages"]] == ["system", "user"]


async def test_no_key_sends_no_authorization_and_formats_can_be_switched(
    wire: TextWire,
) -> None:
    async with FakeOpenAI() as ollama:
        for response_format in ("json_object", "none"):
            local = wire.provider(
                base_url=ollama.base_url, api_key=None, response_format=response_format
            )
            await local.complete(text_request())

    first, second = ollama.requests
    assert "authorization" not in first.headers
    assert first.body["response_format"] == {"type": "json_object"}
    assert "response_format" not in second.body


async def test_usage_cost_wins_over_the_price_table(wire: TextWire) -> None:
    wire.fake.reply(Reply("{}", cost=0.0123))
    result = await wire.provider(name="openrouter").complete(text_request())
    assert result.cost_usd == pytest.approx(0.0123)
    assert result.provider == "openrouter"


async def test_openrouter_error_inside_a_200(wire: TextWire) -> None:
    def upstream_down(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"error": {"code": 502, "message": "upstream error"}})

    async with httpx.AsyncClient(transport=httpx.MockTransport(upstream_down)) as mocked:
        text = OpenAICompatibleText(
            model=wire.model, base_url="https://openrouter.test/v1", client=mocked
        )
        with pytest.raises(ProviderError) as caught:
            await text.complete(text_request())
    assert caught.value.retryable
    assert "upstream error" in caught.value.message


# -- what each model family accepts -----------------------------------------------------------


@pytest.mark.parametrize("model", ["gpt-5-mini", "o4-mini", "o3", "o1-2024-12-17", "gpt-5"])
async def test_reasoning_models_get_max_completion_tokens_and_no_temperature(
    wire: TextWire, model: str
) -> None:
    wire.fake.reply('{"title": "Solar", "points": []}')
    result = await wire.provider(model=model).complete(text_request(max_tokens=700))

    assert result.text == '{"title": "Solar", "points": []}'
    body = wire.fake.requests[-1].body
    assert body["max_completion_tokens"] == 700
    assert "max_tokens" not in body and "temperature" not in body


@pytest.mark.parametrize("model", ["gpt-4o-mini", "gpt-4.1", "llama3.1", "openai/gpt-5"])
async def test_other_models_keep_max_tokens_and_temperature(wire: TextWire, model: str) -> None:
    await wire.provider(model=model).complete(text_request(max_tokens=700))

    body = wire.fake.requests[-1].body
    assert (body["max_tokens"], body["temperature"]) == (700, 0.2)
    assert "max_completion_tokens" not in body


async def test_the_fake_refuses_reasoning_models_as_openai_does(wire: TextWire) -> None:
    """What every request to gpt-5-mini got before: a 400 naming the parameter, not retried."""
    old_shape = wire.provider(model="gpt-5-mini", token_limit_param="max_tokens")
    with pytest.raises(ProviderError) as caught:
        await old_shape.complete(text_request())
    assert (caught.value.status, caught.value.retryable) == (400, False)
    assert "Unsupported parameter: 'max_tokens' is not supported with this model." in str(
        caught.value
    )
    async with wire.client.stream(
        "POST",
        f"{wire.fake.base_url}/chat/completions",
        headers={"Authorization": f"Bearer {wire.key}"},
        json={"model": "o4-mini", "messages": [], "max_completion_tokens": 5, "temperature": 0.7},
    ) as response:
        answer = json.loads(await response.aread())
    assert response.status_code == 400
    assert answer == {
        "error": {
            "message": "Unsupported value: 'temperature' does not support 0.7 with this model. "
            "Only the default (1) value is supported.",
            "type": "invalid_request_error",
            "param": "temperature",
            "code": "unsupported_value",
        }
    }
    assert wire.fake.completed == 0


async def test_token_limit_param_and_temperature_can_be_overridden(wire: TextWire) -> None:
    # An Azure-style deployment whose name hides that it is a reasoning model.
    await wire.provider(
        model="writer", token_limit_param="max_completion_tokens", temperature="none"
    ).complete(text_request(max_tokens=300))
    # A reasoning model given the one temperature it accepts.
    await wire.provider(model="o4-mini", temperature=1.0).complete(text_request())
    # A chat model with a temperature of its own.
    await wire.provider(model="gpt-4o", temperature=0.7).complete(text_request())

    azure, reasoning, chat = (r.body for r in wire.fake.requests)
    assert azure["max_completion_tokens"] == 300
    assert "max_tokens" not in azure and "temperature" not in azure
    assert (reasoning["max_completion_tokens"], reasoning["temperature"]) == (500, 1.0)
    assert (chat["max_tokens"], chat["temperature"]) == (500, 0.7)


@pytest.mark.parametrize(
    ("env", "sent", "left_out"),
    [
        (
            {"LLM_MODEL": "gpt-5-mini"},
            {"max_completion_tokens": 500},
            {"max_tokens", "temperature"},
        ),
        ({"LLM_MODEL": "gpt-4o-mini"}, {"max_tokens": 500, "temperature": 0.2}, set()),
        (
            {"LLM_MODEL": "my-o3", "LLM_TOKEN_LIMIT_PARAM": "max_completion_tokens"},
            {"max_completion_tokens": 500, "temperature": 0.2},
            {"max_tokens"},
        ),
        (
            {"LLM_MODEL": "llama3.1", "LLM_TEMPERATURE": "none"},
            {"max_tokens": 500},
            {"temperature"},
        ),
        (
            {"LLM_MODEL": "o4-mini", "LLM_TEMPERATURE": ""},
            {"max_completion_tokens": 500},
            {"temperature"},
        ),
        ({"LLM_MODEL": "gpt-4o-mini", "LLM_TEMPERATURE": "0.9"}, {"temperature": 0.9}, set()),
    ],
    ids=["reasoning", "chat", "forced-param", "no-temperature", "empty-is-auto", "temperature"],
)
async def test_settings_reach_the_request(
    wire: TextWire,
    tmp_path: Path,
    env: dict[str, str],
    sent: dict[str, object],
    left_out: set[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)  # from the environment, as a deployment sets them
    settings = make_settings(
        tmp_path, LLM_PROVIDER="openai", LLM_BASE_URL=wire.fake.base_url, LLM_API_KEY=wire.key
    )
    await text_provider(settings, wire.client).complete(text_request())

    body = wire.fake.requests[-1].body
    assert {key: body.get(key) for key in sent} == sent
    assert not left_out & body.keys()


def test_bad_text_model_settings_are_refused_at_start_up(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as caught:
        make_settings(tmp_path, LLM_TEMPERATURE="hot")
    assert "LLM_TEMPERATURE" in str(caught.value)
    with pytest.raises(ValidationError):
        make_settings(tmp_path, LLM_TOKEN_LIMIT_PARAM="max_output_tokens")
