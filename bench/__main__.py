"""Run every benchmark and rewrite BENCHMARKS.md: `.venv/bin/python -m bench [name ...]`."""

from __future__ import annotations

import asyncio
import datetime
import importlib
import os
import platform
import sys
from pathlib import Path

from bench.common import Row, print_rows

SUITES = {
    "slack_ack": "Slack command acknowledgement (HTTP mode)",
    "discord_ack": "Discord interaction deferral",
    "run_overhead": "Run overhead",
    "pipeline_offline": "Offline pipeline",
    "local_video": "Local video",
    "storage_bench": "Storage",
    "memory": "Memory",
}
TABLE = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"


def shown(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.3f}"


def render(results: dict[str, list[Row]], workloads: dict[str, str], command: str) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Produced by `{command}` on {datetime.date.today().isoformat()}, "
        f"Python {platform.python_version()}, {os.cpu_count()} cores. Rerun it to refresh this "
        "table; baselines are measured in the same run, since machines are noisy.",
        "",
        "| suite | figure | value | target | holds |",
        "| --- | --- | --- | --- | --- |",
    ]
    for suite, rows in results.items():
        for r in rows:
            verdict = {True: "yes", False: "**no**", None: "reference"}[r["holds"]]
            lines.append(
                f"| {SUITES[suite]} | {r['name']} | {shown(r['value'])} {r['unit']} | "
                f"{r['target']} | {verdict} |"
            )
    lines += ["", "## Workloads", ""]
    lines += [f"- {SUITES[suite]}: {workloads[suite]}." for suite in results]
    lines += ["", "Each suite's module docstring in `bench/` says exactly how it is measured."]
    return "\n".join(lines) + "\n"


async def main(names: list[str]) -> None:
    results: dict[str, list[Row]] = {}
    workloads: dict[str, str] = {}
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        workloads[name] = module.WORKLOAD
        print(f"\n{SUITES[name]}: {module.WORKLOAD}")
        rows: list[Row] = await module.measure()
        print_rows(SUITES[name], rows)
        results[name] = rows
    if set(names) == set(SUITES):
        TABLE.write_text(render(results, workloads, "python -m bench"), encoding="utf-8")
        print(f"\nwrote {TABLE.name}")


if __name__ == "__main__":
    wanted = sys.argv[1:] or [n for n in SUITES if (Path(__file__).parent / f"{n}.py").exists()]
    asyncio.run(main(wanted))
