"""Chat completions on any OpenAI-compatible server: OpenAI, OpenRouter, Ollama, vLLM, ..."""

from __future__ import annotations

import time
from typing import Any, Literal

import httpx

from pipeline.providers.base import ProviderError, TextRequest, TextResult
from pipeline.providers.http_errors import provider_error, safe_text
from pipeline.providers.prompt import (
    cost_from_tokens,
    estimate_tokens,
    schema_name,
    system_prompt,
    user_prompt,
)

ResponseFormat = Literal["json_schema", "json_object", "none"]


class OpenAICompatibleText:
    def __init__(
        self,
        *,
        model: str,
        base_url: str = "https://api.openai.com/v1",
        api_key: str | None = None,
        name: str = "openai",
        prices: dict[str, tuple[float, float]] | None = None,
        timeout_s: float = 120.0,
        temperature: float | None = 0.2,
        response_format: ResponseFormat = "json_schema",
        max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens",
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.name = name
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.prices = dict(prices or {})
        self.timeout_s = timeout_s
        self.temperature = temperature
        self.response_format = response_format
        self.max_tokens_field = max_tokens_field
        self._api_key = api_key
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient()

    def __repr__(self) -> str:
        return f"OpenAICompatibleText(name={self.name!r}, model={self.model!r})"

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
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        started = time.perf_counter()
        try:
            response = await self._client.post(
                f"{self.base_url}/chat/completions",
                json=self._body(request),
                headers=headers,
                timeout=self.timeout_s,
            )
        except httpx.HTTPError as exc:
            raise provider_error(self.name, exc, secrets=[self._api_key]) from exc
        latency = time.perf_counter() - started
        if response.status_code != 200:
            raise provider_error(self.name, response, secrets=[self._api_key])
        body = self._json(response)
        return self._result(request, body, latency)

    def _body(self, request: TextRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": system_prompt(request)},
                {"role": "user", "content": user_prompt(request)},
            ],
            self.max_tokens_field: request.max_tokens,
        }
        if self.temperature is not None:
            body["temperature"] = self.temperature
        if self.response_format == "json_schema":
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": schema_name(request),
                    "schema": request.schema.model_json_schema(),
                    # strict mode rejects common pydantic schemas (defaults, optional fields);
                    # the pipeline validates and repairs anyway.
                    "strict": False,
                },
            }
        elif self.response_format == "json_object":
            body["response_format"] = {"type": "json_object"}
        return body

    def _json(self, response: httpx.Response) -> dict[str, Any]:
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
        return body

    def _result(self, request: TextRequest, body: dict[str, Any], latency: float) -> TextResult:
        choices = body.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            # OpenRouter reports upstream failures as a 200 with an `error` object.
            error = body.get("error")
            code = error.get("code") if isinstance(error, dict) else None
            detail = safe_text(str(error) if error else "no choices", [self._api_key])
            retryable = isinstance(code, int) and (code in (408, 409, 429) or code >= 500)
            raise ProviderError(f"{self.name} returned no answer: {detail}", retryable=retryable)
        choice = choices[0]
        message = choice.get("message") or {}
        finish_reason = choice.get("finish_reason")
        if finish_reason == "length":
            raise ProviderError(
                f"the model stopped at max_tokens ({request.max_tokens}) before finishing its "
                f"answer for {request.task}; raise max_tokens for this task"
            )
        if finish_reason == "content_filter":
            raise ProviderError(f"{self.name}'s content filter stopped the answer")
        if not message.get("content") and message.get("refusal"):
            raise ProviderError(f"the model refused: {safe_text(str(message['refusal']))}")
        return TextResult(
            text=message.get("content") or "",
            provider=self.name,
            model=self.model,
            cost_usd=self._cost(body.get("usage")),
            latency_s=latency,
            finish_reason=finish_reason,
        )

    def _cost(self, usage: object) -> float | None:
        if not isinstance(usage, dict):
            return None
        cost = usage.get("cost")
        if isinstance(cost, (int, float)) and not isinstance(cost, bool):
            return float(cost)
        return cost_from_tokens(
            self.prices, self.model, usage.get("prompt_tokens"), usage.get("completion_tokens")
        )
