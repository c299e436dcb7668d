"""SIGKILL in twenty-two named states across a run of the seed's batch, on the console.

Each point names a state of the run: a step result committed and the next not, an item finished
and its draft not reserved, a draft reserved and not sent, a draft shown and not recorded, ...
The bot is frozen as soon as the database file and its output show that state, the state is read
again while it is frozen, and only then is the bot killed: every kill lands in the state it
names. After each kill the bot is started again: the run completes, no finished step runs again,
and the console's chat (its output, across both starts) shows exactly one draft card per item.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests import support
from tests.crash_support import (
    ConsoleBot,
    NotCaughtError,
    Seen,
    draft_cards,
    environment,
    query,
    stop_in,
)
from tests.support import SEED_IDEA, SEED_SPECIAL

ITEMS = 5
PLAN_AND_DRAFTS = 1 + ITEMS  # the plan step and each item's draft step, done with the batch
TRIES = 10  # fresh runs, for a state the bot may pass between two looks (a loaded machine)

State = Callable[[Seen], bool]


def steps_committed(n: int) -> State:
    return lambda seen: seen.done == n and seen.unfinished > 0


def item_finished_not_reserved(after: int) -> State:
    return lambda seen: bool(seen.ready_unreserved) and seen.recorded >= after


def reserved_not_sent(after: int) -> State:
    return lambda seen: bool(seen.reserved_unsent) and seen.recorded >= after


def shown_not_recorded(after: int) -> State:
    return lambda seen: bool(seen.shown_unrecorded) and seen.recorded >= after


def recorded_with_more_to_come(n: int) -> State:
    def state(seen: Seen) -> bool:
        half_done = seen.ready_unreserved or any(m is None for m, _ in seen.drafts.values())
        return seen.recorded == n and not half_done and seen.unfinished > 0

    return state


POINTS: dict[str, State] = {
    "run recorded, its batch being drafted": lambda seen: seen.runs == 1 and not seen.posts,
    "batch committed, no item step finished": steps_committed(PLAN_AND_DRAFTS),
    **{f"{n} step results committed, the next not": steps_committed(n) for n in range(7, 17)},
    "an item finished, its draft not reserved": item_finished_not_reserved(0),
    "an item finished after two drafts, its draft not reserved": item_finished_not_reserved(2),
    "a draft reserved, not sent": reserved_not_sent(0),
    "a draft reserved after three, not sent": reserved_not_sent(3),
    "a draft shown, not recorded": shown_not_recorded(0),
    "a draft shown after one, not recorded": shown_not_recorded(1),
    "a draft shown after three, not recorded": shown_not_recorded(3),
    "one draft posted and recorded, items still in their steps": recorded_with_more_to_come(1),
    "two drafts posted and recorded, items still in their steps": recorded_with_more_to_come(2),
    "four drafts posted and recorded, an item in its steps": recorded_with_more_to_come(4),
}


def killed_in(tmp_path: Path, state: State) -> tuple[ConsoleBot, Seen]:
    """Run the seed's batch and kill the bot in `state`; a fresh run if the bot passed it."""
    for attempt in range(1, TRIES + 1):
        folder = tmp_path / f"try-{attempt}"
        folder.mkdir()
        if attempt > 1:
            support.start_afresh()  # the next try's story from the start, on its own database
        with ConsoleBot(folder, environment(folder, OFFLINE_LATENCY_S="0.05")) as bot:
            bot.start(f'/propose {SEED_IDEA} special:"{SEED_SPECIAL}"\n/run 1\n')
            try:
                frozen = stop_in(bot, state)
            except NotCaughtError:
                continue
            bot.kill()
            return bot, frozen
    raise AssertionError(f"the bot passed the state in each of {TRIES} runs")


@pytest.mark.parametrize("point", list(POINTS))
def test_kill_in_a_named_state_then_restart_completes_the_run(tmp_path: Path, point: str) -> None:
    bot, frozen = killed_in(tmp_path, POINTS[point])
    assert bot.seen() == frozen  # the kill left exactly what was read while frozen
    db = bot.db
    done_before = query(db, "SELECT id, ended_at, attempts FROM steps WHERE status = 'done'")

    assert bot.run_to_rest() == 0
    assert query(db, "SELECT status FROM runs") == [("done",)]
    assert query(db, "SELECT COUNT(*) FROM posts WHERE status = 'awaiting_approval'") == [(5,)]
    for step_id, ended_at, attempts in done_before:
        after = query(db, f"SELECT ended_at, attempts FROM steps WHERE id = {step_id}")
        assert after == [(ended_at, attempts)], f"finished step {step_id} ran again"
    # Counted where a person sees them: the console's output, across both starts.
    shown = draft_cards(bot.output())
    assert shown == {(post, 1): 1 for post in range(1, ITEMS + 1)}, shown
