"""Chat completions on any OpenAI-compatible server: OpenAI, OpenRouter, Ollama, vLLM, ...

OpenAI's reasoning models (o1, o3, o4 and gpt-5 families) refuse `max_tokens` and any
`temperature` but the default; every other server and model takes both. So by default ("auto")
a model whose name starts with o1, o3, o4 or gpt-5 is sent `max_completion_tokens` and no
temperature, and anything else `max_tokens` and temperature 0.2. The rule reads the name as
configured: OpenRouter's `openai/gpt-5` does not match, since OpenRouter takes `max_tokens` for
every model and drops what a model does not support. Settings override either half of the rule
(for an Azure deployment named otherwise, say).
"""

from __future__ import annotations

import re
from typing import Any, Literal

import httpx

from pipeline.providers.base import ProviderError, TextRequest
from pipeline.providers.http_text import Answer, HttpTextProvider, cut_off
from pipeline.providers.prompt import schema_name, system_prompt, user_prompt

ResponseFormat = Literal["json_schema", "json_object", "none"]
TokenLimitParam = Literal["auto", "max_tokens", "max_completion_tokens"]
# "auto": the model family's default; "none": never sent; a number: always sent.
Temperature = float | Literal["auto", "none"]

DEFAULT_TEMPERATURE = 0.2
REASONING_MODEL = re.compile(r"(?:o1|o3|o4|gpt-5)", re.IGNORECASE)


def is_reasoning_model(model: str) -> bool:
    return REASONING_MODEL.match(model) is not None


class OpenAICompatibleText(HttpTextProvider):
    PATH = "/chat/completions"

    def __init__(
        self,
        *,
        model: str,
        base_url: str = "https://api.openai.com/v1",
        api_key: str | None = None,
        name: str = "openai",
        prices: dict[str, tuple[float, float]] | None = None,
        timeout_s: float = 120.0,
        temperature: Temperature = "auto",
        response_format: ResponseFormat = "json_schema",
        token_limit_param: TokenLimitParam = "auto",
        client: httpx.AsyncClient | None = None,
    ) -> None:
        reasoning = is_reasoning_model(model)
        if token_limit_param == "auto":
            token_limit_param = "max_completion_tokens" if reasoning else "max_tokens"
        self.token_limit_param: Literal["max_tokens", "max_completion_tokens"] = token_limit_param
        if temperature == "auto":
            temperature = "none" if reasoning else DEFAULT_TEMPERATURE
        self.response_format = response_format
        super().__init__(
            name=name,
            model=model,
            base_url=base_url,
            # Local servers (Ollama, vLLM) take no key at all.
            headers={"Authorization": f"Bearer {api_key}"} if api_key else {},
            api_key=api_key,
            prices=prices,
            timeout_s=timeout_s,
            temperature=None if temperature == "none" else temperature,
            client=client,
        )

    def _body(self, request: TextRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": system_prompt(request)},
                {"role": "user", "content": user_prompt(request)},
            ],
            self.token_limit_param: request.max_tokens,
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

    def _answer(self, request: TextRequest, body: dict[str, Any]) -> Answer:
        choices = body.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            # OpenRouter reports upstream failures as a 200 with an `error` object.
            error = body.get("error")
            code = error.get("code") if isinstance(error, dict) else None
            detail = self._safe(str(error) if error else "no choices")
            retryable = isinstance(code, int) and (code in (408, 409, 429) or code >= 500)
            raise ProviderError(f"{self.name} returned no answer: {detail}", retryable=retryable)
        choice = choices[0]
        message = choice.get("message") or {}
        finish_reason = choice.get("finish_reason")
        if finish_reason == "length":
            raise cut_off(self.token_limit_param, request)
        if finish_reason == "content_filter":
            raise ProviderError(f"{self.name}'s content filter stopped the answer")
        if not message.get("content") and message.get("refusal"):
            raise ProviderError(f"the model refused: {self._safe(str(message['refusal']))}")
        return Answer(
            text=message.get("content") or "",
            finish_reason=finish_reason,
            cost_usd=self._cost(body.get("usage")),
        )

    def _cost(self, usage: object) -> float | None:
        if not isinstance(usage, dict):
            return None
        # OpenRouter says what it billed; that beats any price table.
        cost = usage.get("cost")
        if isinstance(cost, (int, float)) and not isinstance(cost, bool):
            return float(cost)
        return self._token_cost(usage.get("prompt_tokens"), usage.get("completion_tokens"))
