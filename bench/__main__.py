"""Run every benchmark and rewrite BENCHMARKS.md: `.venv/bin/python -m bench [name ...]`; naming
suites reruns only those and replaces only their rows."""

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
    "web_pages": "Web pages",
    "workers": "Worker processes on one PostgreSQL",
    "workspaces": "Slack acknowledgement with 100 workspaces installed",
}
# A suite whose module is not named after it.
MODULES = {"workspaces": "workspaces_ack"}
TABLE = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"


def shown(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.3f}"


def row_lines(suite: str, rows: list[Row]) -> list[str]:
    lines = []
    for r in rows:
        verdict = {True: "yes", False: "**no**", None: "reference"}[r["holds"]]
        lines.append(
            f"| {SUITES[suite]} | {r['name']} | {shown(r['value'])} {r['unit']} | "
            f"{r['target']} | {verdict} |"
        )
    return lines


def render(table: dict[str, list[str]], workloads: dict[str, str], produced: str) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"{produced}, Python {platform.python_version()}, {os.cpu_count()} cores. Rerun it to "
        "refresh this table; baselines are measured in the same run, since machines are noisy.",
        "",
        "| suite | figure | value | target | holds |",
        "| --- | --- | --- | --- | --- |",
    ]
    for suite in table:
        lines += table[suite]
    lines += ["", "## Workloads", ""]
    lines += [f"- {SUITES[suite]}: {workloads[suite]}." for suite in table if suite in workloads]
    lines += ["", "Each suite's module docstring in `bench/` says exactly how it is measured."]
    return "\n".join(lines) + "\n"


def previous(text: str) -> tuple[dict[str, list[str]], dict[str, str]]:
    """The table's rows and workloads per suite as BENCHMARKS.md holds them now."""
    by_title = {title: name for name, title in SUITES.items()}
    table: dict[str, list[str]] = {}
    workloads: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("| ") and line[2:].split(" | ", 1)[0] in by_title:
            table.setdefault(by_title[line[2:].split(" | ", 1)[0]], []).append(line)
        elif line.startswith("- ") and line[2:].split(": ", 1)[0] in by_title:
            title, workload = line[2:].split(": ", 1)
            workloads[by_title[title]] = workload.removesuffix(".")
    return table, workloads


async def main(names: list[str]) -> None:
    results: dict[str, list[Row]] = {}
    workloads: dict[str, str] = {}
    for name in names:
        module = importlib.import_module(f"bench.{MODULES.get(name, name)}")
        workloads[name] = module.WORKLOAD
        print(f"\n{SUITES[name]}: {module.WORKLOAD}")
        rows: list[Row] = await module.measure()
        print_rows(SUITES[name], rows)
        results[name] = rows
    today = datetime.date.today().isoformat()
    fresh = {name: row_lines(name, rows) for name, rows in results.items()}
    if set(names) == set(SUITES):
        produced = f"Produced by `python -m bench` on {today}"
    else:  # the other suites' rows stay as the last run left them
        table, workloads_before = previous(TABLE.read_text(encoding="utf-8"))
        table.update(fresh)
        fresh = {name: table[name] for name in SUITES if name in table}
        workloads = {**workloads_before, **workloads}
        produced = (
            f"Produced by `python -m bench`; {', '.join(SUITES[n] for n in names)} refreshed "
            f"by `python -m bench {' '.join(names)}` on {today}"
        )
    TABLE.write_text(render(fresh, workloads, produced), encoding="utf-8")
    print(f"\nwrote {TABLE.name}")


if __name__ == "__main__":
    wanted = sys.argv[1:] or [
        n for n in SUITES if (Path(__file__).parent / f"{MODULES.get(n, n)}.py").exists()
    ]
    asyncio.run(main(wanted))
