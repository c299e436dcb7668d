"""The costs chart, drawn on the server as SVG geometry (no script, no inline style)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT, BOTTOM = 720, 200, 24


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    day: str
    cost: float


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: tuple[Bar, ...]
    top: float  # the cost the chart's full height stands for
    baseline: float


def day_bars(by_day: Sequence[tuple[str, float]]) -> Chart:
    top = max((cost for _, cost in by_day), default=0.0) or 1.0
    slot = WIDTH / max(len(by_day), 1)
    usable = HEIGHT - BOTTOM
    bars = tuple(
        Bar(
            x=round(i * slot + slot * 0.1, 2),
            y=round(usable - usable * cost / top, 2),
            width=round(slot * 0.8, 2),
            height=round(usable * cost / top, 2),
            day=day,
            cost=cost,
        )
        for i, (day, cost) in enumerate(by_day)
    )
    return Chart(WIDTH, HEIGHT, bars, top, usable)
