"""Shared helpers for the benchmarks: a room on a temporary database, percentiles, rows."""

from __future__ import annotations

import asyncio
import contextlib
import io
import statistics
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from bot.bootstrap import App, build
from bot.console import Console
from bot.settings import Settings
from pipeline.runner import Providers
from storage.db import Database

Row = dict[str, Any]


def row(name: str, value: float, unit: str, target: str, holds: bool | None) -> Row:
    return {"name": name, "value": value, "unit": unit, "target": target, "holds": holds}


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(values: list[float]) -> float:
    return statistics.median(values)


def database(app: App) -> Database:
    """The room's database: the one place the benchmarks reach past the room's API."""
    return app.room.deps.db


async def unfinished_runs(app: App) -> int:
    sql = "SELECT COUNT(*) FROM runs WHERE status IN ('queued', 'running')"
    return int(await database(app).scalar(sql))


async def wait_runs_finished(app: App, timeout: float = 600.0, poll_s: float = 0.005) -> None:
    async with asyncio.timeout(timeout):
        while await unfinished_runs(app):  # noqa: ASYNC110 (a database state, not an event)
            await asyncio.sleep(poll_s)


def settings_in(folder: Path, **env: Any) -> Settings:
    values: dict[str, Any] = {
        "DRAFTROOM_DB": str(folder / "bench.db"),
        "DRAFTROOM_MEDIA_DIR": str(folder / "media"),
        "DRAFTROOM_OUTBOX_DIR": str(folder / "outbox"),
        "APPROVERS": "editor",
        "LOG_LEVEL": "WARNING",
    }
    values.update(env)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@contextlib.asynccontextmanager
async def console_room(
    providers: Providers | None = None, **env: Any
) -> AsyncIterator[tuple[App, Console]]:
    """A room driven through the console adapter, printing into a buffer nobody reads."""
    with tempfile.TemporaryDirectory(prefix="draftroom-bench-") as folder:
        async with build(settings_in(Path(folder), **env), providers=providers) as app:
            console = Console(app.room, user="writer", approvers=["editor"], out=io.StringIO())
            await app.room.start()
            try:
                yield app, console
            finally:
                await app.room.stop()


def print_rows(title: str, rows: list[Row]) -> None:
    print(f"\n{title}")
    for r in rows:
        verdict = {True: "holds", False: "DOES NOT HOLD", None: "(reference)"}[r["holds"]]
        value = f"{r['value']:.0f}" if float(r["value"]).is_integer() else f"{r['value']:.3f}"
        print(f"  {r['name']}: {value} {r['unit']}  target {r['target']}  {verdict}")
