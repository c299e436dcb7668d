"""The adapters' background work: awaited until idle, cancelled on stop, failures logged once."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.background import Background

log = logging.getLogger("tests.background")


async def test_waits_for_work_spawned_by_work_and_logs_a_failure_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    background = Background(log)
    done: list[str] = []

    async def second() -> None:
        await asyncio.sleep(0.01)
        done.append("second")

    async def first() -> None:
        background.spawn(second())
        done.append("first")

    async def broken() -> None:
        raise RuntimeError("the answer could not be sent")

    with caplog.at_level(logging.ERROR):
        background.spawn(first())
        background.spawn(broken())
        await background.wait_idle()
    assert done == ["first", "second"]
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(failures) == 1 and failures[0].name == "tests.background"
    assert failures[0].exc_info and "the answer could not be sent" in caplog.text


async def test_cancel_all_ends_work_that_would_never_end(
    caplog: pytest.LogCaptureFixture,
) -> None:
    background = Background(log)
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    background.spawn(forever())
    await started.wait()
    with caplog.at_level(logging.ERROR):
        await asyncio.wait_for(background.cancel_all(), timeout=5)
        await background.wait_idle()
    assert not caplog.records  # a cancelled task is not a failure
