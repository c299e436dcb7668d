"""A crash in the middle of a run: the bot is killed with SIGKILL and started again.

The run must finish with no finished step repeated and no draft shown twice or never.
"""

from __future__ import annotations

from pathlib import Path

from tests.crash_support import ConsoleBot, Seen, draft_cards, environment, query, stop_in
from tests.support import SEED_IDEA, SEED_SPECIAL


def some_shown_others_in_their_steps(seen: Seen) -> bool:
    return seen.done_by_name["hero_card"] >= 2 and bool(seen.printed) and seen.unfinished > 0


def test_sigkill_mid_run_then_restart_finishes_without_repeats(tmp_path: Path) -> None:
    db = tmp_path / "draftroom.db"
    with ConsoleBot(tmp_path, environment(tmp_path)) as bot:
        bot.start(f'/propose {SEED_IDEA} special:"{SEED_SPECIAL}"\n/run 1\n')
        stop_in(bot, some_shown_others_in_their_steps)
        bot.kill()

        finished_before = {
            row[0]: row[1:]
            for row in query(
                db, "SELECT id, ended_at, attempts, artifact FROM steps WHERE status = 'done'"
            )
        }
        assert bot.run_to_rest("wait\n/posts\n") == 0

    assert query(db, "SELECT status FROM runs") == [("done",)]
    assert query(db, "SELECT COUNT(*) FROM posts WHERE status = 'awaiting_approval'") == [(5,)]
    assert query(db, "SELECT COUNT(*) FROM steps WHERE status IN ('queued', 'running')") == [(0,)]
    for step_id, before in finished_before.items():
        after = query(db, f"SELECT ended_at, attempts, artifact FROM steps WHERE id = {step_id}")
        assert after == [before], f"finished step {step_id} was run again"
    duplicates = query(
        db,
        "SELECT post_id, name, COUNT(*) FROM steps WHERE post_id IS NOT NULL"
        " GROUP BY post_id, post_rev, name HAVING COUNT(*) > 1",
    )
    assert duplicates == []
    # Counted where a person sees them: the console's output, across both starts.
    assert draft_cards(bot.output()) == {(post, 1): 1 for post in range(1, 6)}
    assert bot.outputs[-1].read_text().count("5 recent posts") == 1
