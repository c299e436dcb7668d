"""One finding of `draftroom doctor`: what was checked, how it stands, and the fix in a sentence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import httpx

Level = Literal["ok", "warning", "problem"]


@dataclass(frozen=True)
class Check:
    name: str
    level: Level
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"{self.level:<7} {self.name}: {self.detail}"
        return f"{text} Fix: {self.fix}" if self.fix and self.level != "ok" else text


def ok(name: str, detail: str) -> Check:
    return Check(name, "ok", detail)


def warning(name: str, detail: str, fix: str = "") -> Check:
    return Check(name, "warning", detail, fix)


def problem(name: str, detail: str, fix: str) -> Check:
    return Check(name, "problem", detail, fix)


def unreachable(name: str, what: str, exc: httpx.HTTPError, setting: str) -> Check:
    """A server that did not answer; never its URL (it may carry a credential)."""
    return problem(
        name,
        f"cannot reach {what} ({type(exc).__name__}).",
        f"check the network, or {setting} if it points elsewhere.",
    )


def json_of(response: httpx.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
