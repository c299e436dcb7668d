#!/usr/bin/env python3
"""Set up a local virtualenv and run draftroom or its checks: `python3 dev.py run|test`.

Needs nothing but Python 3.11+. The virtualenv lives in `.venv`; it is (re)installed only when
pyproject.toml changes, so the second run starts at once.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".draftroom-installed"

CHECKED = ["handlers", "pipeline", "storage", "bot"]


def ensure_venv() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may be started by an older Python
        sys.exit(f"draftroom needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if PY.exists() and STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not PY.exists():
        print("Setting up .venv (first run only) ...", flush=True)
        venv.create(VENV, with_pip=True)
    quiet = ["-q", "--disable-pip-version-check"]
    subprocess.run([PY, "-m", "pip", "install", *quiet, "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(wanted)


def run(*args: str | Path) -> None:
    result = subprocess.run([str(a) for a in args], cwd=ROOT)
    if result.returncode != 0:
        sys.exit(result.returncode)


def main() -> None:
    what = sys.argv[1] if len(sys.argv) > 1 else "run"
    rest = sys.argv[2:]
    ensure_venv()
    if what == "run":
        os.execv(PY, [str(PY), "-m", "bot", *rest])
    elif what == "test":
        run(PY, "-m", "ruff", "check", ".")
        run(PY, "-m", "ruff", "format", "--check", ".")
        run(PY, "-m", "mypy", *CHECKED)
        run(BIN / "lint-imports")
        run(PY, "-m", "pytest", *rest)
    else:
        sys.exit("usage: python3 dev.py [run|test] [args...]")


if __name__ == "__main__":
    main()
