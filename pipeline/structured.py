"""Structured answers from a text provider: parse, validate, one repair round, then fail."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

from pipeline.providers.base import ProviderError, TextRequest, TextResult

M = TypeVar("M", bound=BaseModel)

# Extra checks beyond the schema (such as "exactly the items of the spec"); return problems.
Check = Callable[[M], list[str]]
Caller = Callable[[TextRequest], Awaitable[TextResult]]

_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.MULTILINE)


@dataclass(frozen=True)
class Structured(Generic[M]):
    value: M
    provider: str
    model: str
    cost_usd: float | None
    latency_s: float
    calls: int
    attempts: int = 0  # provider requests, retries included; counted by Pipeline.text_call


def _parse(text: str, schema: type[M]) -> M:
    cleaned = _FENCE.sub("", text.strip())
    return schema.model_validate(json.loads(cleaned))


def _add_cost(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a + b


async def ask(call: Caller, request: TextRequest, check: Check[M] | None = None) -> Structured[M]:
    """Call, validate against `request.schema` and `check`; on failure ask once more with the
    errors; on a second failure raise a ProviderError that says what was wrong."""
    schema: type[M] = request.schema  # type: ignore[assignment]
    cost: float | None = 0.0
    latency = 0.0
    for calls in (1, 2):
        result = await call(request)
        cost = _add_cost(cost, result.cost_usd)
        latency += result.latency_s
        try:
            value = _parse(result.text, schema)
            problems = check(value) if check else []
        except json.JSONDecodeError as exc:
            problems = [f"the answer is not valid JSON ({exc.msg} at position {exc.pos})"]
        except ValidationError as exc:
            problems = [
                f"{'.'.join(str(p) for p in err['loc']) or 'answer'}: {err['msg']}"
                for err in exc.errors()[:8]
            ]
        if not problems:
            return Structured(value, result.provider, result.model, cost, latency, calls)
        if calls == 2:
            raise ProviderError(
                f"the model's answer did not fit after a repair round: {'; '.join(problems)}"
            )
        request = replace(request, repair_errors="; ".join(problems))
    raise AssertionError("unreachable")
