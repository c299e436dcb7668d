"""Anthropic's Messages API: the system prompt is a top-level field, `max_tokens` is required,
and the answer is a list of content blocks."""

from __future__ import annotations

from typing import Any

import httpx

from pipeline.providers.base import ProviderError, TextRequest
from pipeline.providers.http_text import Answer, HttpTextProvider, cut_off
from pipeline.providers.prompt import system_prompt, user_prompt

ANTHROPIC_VERSION = "2023-06-01"


class AnthropicText(HttpTextProvider):
    PATH = "/v1/messages"

    def __init__(
        self,
        *,
        model: str,
        api_key: str,
        base_url: str = "https://api.anthropic.com",
        name: str = "anthropic",
        prices: dict[str, tuple[float, float]] | None = None,
        timeout_s: float = 120.0,
        temperature: float | None = 0.2,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(
            name=name,
            model=model,
            base_url=base_url,
            headers={"x-api-key": api_key, "anthropic-version": ANTHROPIC_VERSION},
            api_key=api_key,
            prices=prices,
            timeout_s=timeout_s,
            temperature=temperature,
            client=client,
        )

    def _body(self, request: TextRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": request.max_tokens,
            "system": system_prompt(request),
            "messages": [{"role": "user", "content": user_prompt(request)}],
        }
        if self.temperature is not None:
            body["temperature"] = self.temperature
        return body

    def _answer(self, request: TextRequest, body: dict[str, Any]) -> Answer:
        stop_reason = body.get("stop_reason")
        if stop_reason == "max_tokens":
            raise cut_off("max_tokens", request)
        if stop_reason == "refusal":
            raise ProviderError(f"{self.name} refused to answer for {request.task}")
        blocks = body.get("content")
        texts = [
            block["text"]
            for block in (blocks if isinstance(blocks, list) else [])
            if isinstance(block, dict) and block.get("type") == "text"
        ]
        if not texts:
            raise ProviderError(f"{self.name} returned no text block (stop_reason {stop_reason})")
        usage = body.get("usage")
        usage = usage if isinstance(usage, dict) else {}
        return Answer(
            text=str(texts[0]),
            finish_reason=stop_reason,
            cost_usd=self._token_cost(usage.get("input_tokens"), usage.get("output_tokens")),
        )
