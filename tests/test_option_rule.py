"""Options come at the end of the text: what a user sees, and what is stored, when they do not."""

from __future__ import annotations

from pathlib import Path

from storage import plans
from tests.db_rows import scalar
from tests.support import console_session, make_settings
from tests.test_console_session import run_console

UNKNOWN_KEY = (
    "  ⚠ `colour:` is not an option of /propose; it takes pillar:, persona:, special:. "
    "To keep `colour:red` in the idea, put a space after the colon."
)


def test_an_unknown_option_key_is_refused_in_the_console_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    result = run_console(tmp_path, '/propose an idea pillar:nope special:"x" colour:red\n')
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stdout.splitlines() if line.startswith("  ⚠")]
    assert warnings == [UNKNOWN_KEY]
    assert "Traceback" not in result.stdout + result.stderr
    for table in ("plans", "plan_revisions", "runs", "steps", "turns"):
        assert scalar(tmp_path / "draftroom.db", f"SELECT COUNT(*) FROM {table}") == 0, table


async def test_prose_with_option_words_is_kept_and_notes_follow_the_same_rule(
    tmp_path: Path,
) -> None:
    idea = "Why the pillar: safety story matters, see https://x.y at 10:30"
    async with console_session(make_settings(tmp_path)) as session:
        card = await session.type(f"/propose {idea}")
        assert "plan 1 ·" in card
        reader = session.app.room.deps.db.reader
        plan = await plans.get_plan(reader, 1)
        assert plan is not None and plan.idea == idea

        # A reply in the plan's thread is a note: `special:` in its prose stays prose.
        note = "the special: part is the benchmark, keep it"
        await session.type(f"reply plan 1 {note}")
        revision = await plans.get_revision(reader, 1, 2)
        assert revision is not None and revision.note == note

        refused = await session.type("/refine 1 make it darker tone:grim")
        assert "`tone:` is not an option of /refine; it takes special:." in refused
        assert "To keep `tone:grim` in the note, put a space after the colon." in refused
        plan = await plans.get_plan(reader, 1)
        assert plan is not None and plan.current_rev == 2
