"""What the hostile-payload tests share: the rows that must stay unwritten, the hostile texts, and
what a crash would leave behind (tests/test_hostile_payloads_slack.py, _discord.py)."""

from __future__ import annotations

import logging
import re

import pytest

from storage.db import Database

TABLES = ("plans", "plan_revisions", "runs", "posts", "steps", "reactions", "turns", "publications")
HUGE = "x" * 100_000
# Zero-width characters, bidirectional marks, embeddings, overrides and isolates, BOM.
INVISIBLE = "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2069\ufeff"
TRACEBACK = re.compile(
    r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+|\b[A-Z]\w*(?:Error|Exception)\b"
)
EPHEMERAL = 1 << 6
GONE = object()  # a field left out of a payload


async def counts(db: Database) -> dict[str, int]:
    return {t: int(await db.scalar(f"SELECT COUNT(*) FROM {t}")) for t in TABLES}


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Log records at ERROR or with a traceback: what a crash in a handler leaves behind."""
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
