"""Each approver's queue: `/queue` in the console and on Discord, from the one core query."""

from __future__ import annotations

from pathlib import Path

from tests.db_rows import scalar
from tests.discord_support import discord_bot, embed_text
from tests.slack_support import SEED_PROPOSE
from tests.support import console_session, make_settings


def draft_message(settings_db: Path, post_id: int) -> str:
    found = scalar(
        settings_db,
        "SELECT message_id FROM messages WHERE kind = 'draft' AND post_id = ?",
        (post_id,),
    )
    assert found is not None
    return str(found)


def section(text: str, heading: str) -> list[str]:
    """The lines of a card section in the console's rendering."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == heading) + 1
    found = []
    for line in lines[start:]:
        if not line.startswith("    "):
            break
        found.append(line.strip())
    return found


async def test_the_queue_shows_what_waits_for_each_person(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    async with console_session(settings, user="writer") as session:
        await session.type(f"/propose {SEED_PROPOSE}")
        await session.type("/run 1")
        await session.settle()

        mine = await session.type("/queue", user="writer")
        assert "Your queue: 0 to approve, 5 of yours waiting" in mine
        assert len(section(mine, "Your drafts waiting for others")) == 5

        theirs = await session.type("/queue", user="editor")
        waiting = section(theirs, "Waiting for your approval")
        assert [line.split(" · ")[0] for line in waiting] == [f"post {n}" for n in (5, 4, 3, 2, 1)]
        assert all(" old · $0.00" in line for line in waiting)

        await session.type(f"react {draft_message(settings.db_path, 4)} ✅", user="editor")
        await session.settle()
        after = await session.type("/queue", user="editor")
        assert [line.split(" · ")[0] for line in section(after, "Waiting for your approval")] == [
            "post 5",
            "post 3",
            "post 2",
            "post 1",
        ]


async def test_with_two_approvals_required_an_approved_draft_waits_for_the_others(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path, APPROVALS_REQUIRED=2)
    async with console_session(settings, user="writer") as session:
        await session.type(
            "/propose one idea special:\"Generate exactly 1 items: 1 with content_format='text'.\""
        )
        await session.type("/run 1")
        await session.settle()
        await session.type(f"react {draft_message(settings.db_path, 1)} ✅", user="editor")
        await session.settle()
        editor = await session.type("/queue", user="editor")
        chief = await session.type("/queue", user="chief")
        assert "Your queue: 0 to approve" in editor
        assert "Your queue: 1 to approve" in chief


async def test_discord_queue_answers_privately(tmp_path: Path) -> None:
    async with discord_bot(tmp_path) as bot:
        await bot.drafted(items=2)
        shown = await bot.command("queue", bot.fake.approver_id)
        assert shown.ephemeral
        text = embed_text(bot.followup(shown))
        assert "Your queue: 2 to approve, 0 of yours waiting" in text
        writer = await bot.command("queue", bot.fake.non_approver_id)
        assert "Your queue: 0 to approve, 2 of yours waiting" in embed_text(bot.followup(writer))
