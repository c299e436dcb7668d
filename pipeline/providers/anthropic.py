"""Anthropic's Messages API."""

from __future__ import annotations

import time
from typing import Any

import httpx

from pipeline.providers.base import ProviderError, TextRequest, TextResult
from pipeline.providers.http_errors import provider_error, safe_text
from pipeline.providers.prompt import cost_from_tokens, estimate_tokens, system_prompt, user_prompt

ANTHROPIC_VERSION = "2023-06-01"


class AnthropicText:
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
        self.name = name
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.prices = dict(prices or {})
        self.timeout_s = timeout_s
        self.temperature = temperature
        self._api_key = api_key
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient()

    def __repr__(self) -> str:
        return f"AnthropicText(name={self.name!r}, model={self.model!r})"

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    def estimate_cost(self, request: TextRequest) -> float:
        price = self.prices.get(self.model)
        if price is None:
            return 0.0
        prompt_tokens = estimate_tokens(system_prompt(request), user_prompt(request))
        return (prompt_tokens * price[0] + request.max_tokens * price[1]) / 1_000_000

    async def complete(self, request: TextRequest) -> TextResult:
        headers = {"x-api-key": self._api_key, "anthropic-version": ANTHROPIC_VERSION}
        started = time.perf_counter()
        try:
            response = await self._client.post(
                f"{self.base_url}/v1/messages",
                json=self._body(request),
                headers=headers,
                timeout=self.timeout_s,
            )
        except httpx.HTTPError as exc:
            raise provider_error(self.name, exc, secrets=[self._api_key]) from exc
        latency = time.perf_counter() - started
        if response.status_code != 200:
            raise provider_error(self.name, response, secrets=[self._api_key])
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ProviderError(
                f"{self.name} answered with something that is not JSON: "
                f"{safe_text(response.text, [self._api_key])}",
                status=response.status_code,
            )
        return self._result(request, body, latency)

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

    def _result(self, request: TextRequest, body: dict[str, Any], latency: float) -> TextResult:
        stop_reason = body.get("stop_reason")
        if stop_reason == "max_tokens":
            raise ProviderError(
                f"the model stopped at max_tokens ({request.max_tokens}) before finishing its "
                f"answer for {request.task}; raise max_tokens for this task"
            )
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
        return TextResult(
            text=str(texts[0]),
            provider=self.name,
            model=self.model,
            cost_usd=cost_from_tokens(
                self.prices, self.model, usage.get("input_tokens"), usage.get("output_tokens")
            ),
            latency_s=latency,
            finish_reason=stop_reason,
        )
