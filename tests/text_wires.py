"""One text provider against its fake server, with what differs between the wire formats held
as data, so a test of behaviour both share runs its one body against each.

    async with open_wire("anthropic") as wire:
        wire.fake.reply(Reply("{}", finish_reason=wire.cut_off))
        await wire.provider(timeout_s=5).complete(text_request())
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

import httpx
from pydantic import BaseModel

from pipeline.providers.anthropic import AnthropicText
from pipeline.providers.base import TextRequest
from pipeline.providers.http_text import HttpTextProvider
from pipeline.providers.openai_compat import OpenAICompatibleText
from tests.fakes.providers import FakeAnthropic, FakeOpenAI

WireKind = Literal["openai", "anthropic"]
WIRE_KINDS: tuple[WireKind, ...] = ("openai", "anthropic")
DATA = {"idea": "solar roofs", "notes": ["cheap", "quiet"]}


class Plan(BaseModel):
    title: str
    points: list[str]


def text_request(**changes: object) -> TextRequest:
    fields: dict[str, object] = {
        "task": "plan",
        "instructions": "Plan a post about the idea.",
        "data": DATA,
        "schema": Plan,
        "max_tokens": 500,
    }
    fields.update(changes)
    return TextRequest(**fields)  # type: ignore[arg-type]


@dataclass(frozen=True)
class WireFacts:
    key: str
    model: str
    prices: tuple[float, float]  # USD per million tokens, input and output
    stop: str  # the finish reason of a complete answer
    cut_off: str  # the finish reason of an answer cut at the output cap
    withheld: str  # the finish reason of an answer the provider would not give
    withheld_message: str  # what the provider then says, for text_request()
    unauthorized: str  # what the fake says to a wrong key


FACTS: dict[WireKind, WireFacts] = {
    "openai": WireFacts(
        key="sk-test-0123456789-secret",
        model="gpt-test",
        prices=(2.0, 8.0),
        stop="stop",
        cut_off="length",
        withheld="content_filter",
        withheld_message="openai's content filter stopped the answer",
        unauthorized="Incorrect API key",
    ),
    "anthropic": WireFacts(
        key="sk-ant-test-9876543210-secret",
        model="claude-test",
        prices=(3.0, 15.0),
        stop="end_turn",
        cut_off="max_tokens",
        withheld="refusal",
        withheld_message="anthropic refused to answer for plan",
        unauthorized="invalid x-api-key",
    ),
}


@dataclass(frozen=True)
class TextWire:
    kind: WireKind
    facts: WireFacts
    fake: FakeOpenAI | FakeAnthropic
    client: httpx.AsyncClient

    @property
    def key(self) -> str:
        return self.facts.key

    @property
    def model(self) -> str:
        return self.facts.model

    def provider(self, **options: object) -> HttpTextProvider:
        """The provider pointed at the fake, keyed and priced; `options` override any setting."""
        settings: dict[str, object] = {
            "model": self.model,
            "api_key": self.key,
            "base_url": self.fake.base_url,
            "prices": {self.model: self.facts.prices},
            "client": self.client,
        }
        settings.update(options)
        kind = OpenAICompatibleText if self.kind == "openai" else AnthropicText
        return kind(**settings)  # type: ignore[arg-type]

    def token_cost(self, input_tokens: int, output_tokens: int) -> float:
        price_in, price_out = self.facts.prices
        return (input_tokens * price_in + output_tokens * price_out) / 1_000_000


@asynccontextmanager
async def open_wire(kind: WireKind) -> AsyncIterator[TextWire]:
    facts = FACTS[kind]
    fake = FakeOpenAI(api_key=facts.key) if kind == "openai" else FakeAnthropic(api_key=facts.key)
    async with fake, httpx.AsyncClient() as client:
        yield TextWire(kind, facts, fake, client)
