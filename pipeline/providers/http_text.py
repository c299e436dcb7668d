"""What every HTTP text provider does the same way, whatever its wire format.

One POST with the configured timeout; failures classified by `http_errors`, so a 429 or a hang
is retried alike on every provider and a key never reaches a message; the latency of that call
alone; the cost from the answer's usage against the price table. A wire format
(`openai_compat`, `anthropic`) adds only its path and headers, its request body, and how it
reads a 200 answer.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

from pipeline.providers.base import ProviderError, TextRequest, TextResult
from pipeline.providers.http_errors import provider_error, safe_text
from pipeline.providers.prompt import cost_from_tokens, estimate_tokens, system_prompt, user_prompt


@dataclass(frozen=True)
class Answer:
    """What a wire format read out of a 200 answer; the rest of a TextResult is the same."""

    text: str
    finish_reason: str | None
    cost_usd: float | None


def cut_off(param: str, request: TextRequest) -> ProviderError:
    """The answer hit the output cap: permanent, since the same cap would cut it again."""
    return ProviderError(
        f"the model stopped at {param} ({request.max_tokens}) before finishing its answer for "
        f"{request.task}; raise max_tokens for this task"
    )


class HttpTextProvider(ABC):
    PATH: ClassVar[str]  # below base_url, e.g. "/chat/completions"

    def __init__(
        self,
        *,
        name: str,
        model: str,
        base_url: str,
        headers: dict[str, str],
        api_key: str | None,
        prices: dict[str, tuple[float, float]] | None,
        timeout_s: float,
        temperature: float | None,
        client: httpx.AsyncClient | None,
    ) -> None:
        self.name = name
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.prices = dict(prices or {})
        self.timeout_s = timeout_s
        self.temperature = temperature
        self._headers = headers
        self._api_key = api_key
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, model={self.model!r})"

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
        started = time.perf_counter()
        try:
            response = await self._client.post(
                f"{self.base_url}{self.PATH}",
                json=self._body(request),
                headers=self._headers,
                timeout=self.timeout_s,
            )
        except httpx.HTTPError as exc:
            raise provider_error(self.name, exc, secrets=[self._api_key]) from exc
        latency = time.perf_counter() - started
        if response.status_code != 200:
            raise provider_error(self.name, response, secrets=[self._api_key])
        answer = self._answer(request, self._json(response))
        return TextResult(
            text=answer.text,
            provider=self.name,
            model=self.model,
            cost_usd=answer.cost_usd,
            latency_s=latency,
            finish_reason=answer.finish_reason,
        )

    @abstractmethod
    def _body(self, request: TextRequest) -> dict[str, Any]: ...

    @abstractmethod
    def _answer(self, request: TextRequest, body: dict[str, Any]) -> Answer:
        """Read a 200 answer, raising ProviderError for one that holds no usable text."""

    def _token_cost(self, input_tokens: object, output_tokens: object) -> float | None:
        return cost_from_tokens(self.prices, self.model, input_tokens, output_tokens)

    def _safe(self, text: str) -> str:
        return safe_text(text, [self._api_key])

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ProviderError(
                f"{self.name} answered with something that is not JSON: "
                f"{self._safe(response.text)}",
                status=response.status_code,
            )
        return body
