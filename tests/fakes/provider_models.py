"""Model listings of the fake text providers and fal's pricing read: the free calls
`draftroom doctor` makes. Each answers as its real API does, and checks the key the same way
the paid routes of its fake do.

- OpenAI-compatible: `GET /v1/models` → `{"object": "list", "data": [{"id", "object": "model",
  "created", "owned_by"}]}`.
- Anthropic: `GET /v1/models` (`limit`, `after_id`; `has_more`, `first_id`, `last_id`) and `GET
  /v1/models/{model_id}`, which also takes an alias: the id without its `-YYYYMMDD` date; an
  unknown model is a 404 `not_found_error`.
- fal Platform API: `GET /v1/models/pricing?endpoint_id=...` (repeatable), `Authorization: Key`;
  `{"prices": [{"endpoint_id", "unit_price", "unit", "currency"}], "next_cursor", "has_more"}`;
  an endpoint it does not know is a 404.
Set `models` (a list of ids) or `prices` (endpoint id → USD per unit) on a fake to change them.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

DATED = re.compile(r"-\d{8}$")


class OpenAIModelsMixin:
    models: list[str] = ["gpt-4o-mini", "gpt-4.1-mini", "gpt-test"]  # noqa: RUF012 - replaced, not mutated
    api_key: str | None

    if TYPE_CHECKING:  # FakeServer's, which these mix into

        def error(self, status: int, message: str) -> web.Response: ...

    async def _list_models(self, request: web.Request) -> web.Response:
        presented = request.headers.get("Authorization", "")
        if self.api_key is not None and presented != f"Bearer {self.api_key}":
            return self.error(401, "Incorrect API key provided")
        created = int(time.time()) - 86_400
        data = [
            {"id": m, "object": "model", "created": created, "owned_by": "system"}
            for m in self.models
        ]
        return web.json_response({"object": "list", "data": data})


class AnthropicModelsMixin:
    models: list[str] = ["claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001"]  # noqa: RUF012
    api_key: str

    if TYPE_CHECKING:  # FakeServer's, which these mix into

        def error(self, status: int, message: str) -> web.Response: ...

    def _model_json(self, model: str) -> dict[str, Any]:
        name = DATED.sub("", model).replace("-", " ").title()
        return {
            "type": "model",
            "id": model,
            "display_name": name,
            "created_at": "2025-09-29T00:00:00Z",
        }

    async def _list_models(self, request: web.Request) -> web.Response:
        if request.headers.get("x-api-key") != self.api_key:
            return self.error(401, "invalid x-api-key")
        limit = min(int(request.query.get("limit", 20)), 1000)
        after = request.query.get("after_id")
        start = self.models.index(after) + 1 if after in self.models else 0
        page = self.models[start : start + limit]
        return web.json_response(
            {
                "data": [self._model_json(m) for m in page],
                "has_more": start + limit < len(self.models),
                "first_id": page[0] if page else None,
                "last_id": page[-1] if page else None,
            }
        )

    async def _get_model(self, request: web.Request) -> web.Response:
        if request.headers.get("x-api-key") != self.api_key:
            return self.error(401, "invalid x-api-key")
        wanted = request.match_info["model_id"]
        found = next((m for m in self.models if wanted in (m, DATED.sub("", m))), None)
        if found is None:
            body = {
                "type": "error",
                "error": {"type": "not_found_error", "message": f"model: {wanted}"},
            }
            return web.json_response(body, status=404)
        return web.json_response(self._model_json(found))


class FalPricingMixin:
    prices: dict[str, float] = {"fal-ai/flux-pro/v1.1-ultra": 0.06}  # noqa: RUF012
    api_key: str

    if TYPE_CHECKING:  # FakeServer's, which these mix into

        def error(self, status: int, message: str) -> web.Response: ...

    async def _pricing(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Key {self.api_key}":
            return self.error(401, "No user found for Key ID and Secret")
        wanted = request.query.getall("endpoint_id", [])
        unknown = [e for e in wanted if e not in self.prices]
        if unknown:
            return self.error(404, f"Endpoint not found: {unknown[0]}")
        listed = [
            {"endpoint_id": e, "unit_price": self.prices[e], "unit": "image", "currency": "USD"}
            for e in wanted or list(self.prices)
        ]
        return web.json_response({"prices": listed, "next_cursor": None, "has_more": False})
