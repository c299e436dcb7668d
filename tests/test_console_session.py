"""The whole product in the console, as a person would use it: the issue's scripted session."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import av

from pipeline.providers.local_video import shots_of
from storage import posts, steps
from tests import support
from tests.crash_support import draft_cards
from tests.db_rows import scalar
from tests.support import SEED_IDEA, SEED_SPECIAL, console_session, make_settings

ROOT = Path(__file__).resolve().parent.parent
SEED_SECTIONS = ["Plan (drafter input)", "Body", "Caption", "Pipeline", "Chat References"]


def run_console(tmp_path: Path, script: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "DRAFTROOM_DB": str(tmp_path / "draftroom.db"),
        "DRAFTROOM_MEDIA_DIR": str(tmp_path / "media"),
        "DRAFTROOM_OUTBOX_DIR": str(tmp_path / "outbox"),
        **env,
    }
    for name in ("SLACK_BOT_TOKEN", "DISCORD_BOT_TOKEN", "APPROVERS", "DATABASE_URL"):
        environment.pop(name, None)
    if support.DATABASE_URL is not None:  # the test's own PostgreSQL database
        environment["DATABASE_URL"] = support.DATABASE_URL
    return subprocess.run(
        [sys.executable, "-m", "bot"],
        input=script,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        timeout=120,
    )


def test_scripted_session_from_idea_to_published_post(tmp_path: Path) -> None:
    script = "\n".join(
        [
            f'/propose {SEED_IDEA} pillar:structural_dread special:"{SEED_SPECIAL}"',
            "reply plan 1 end on the document line: it is not nothing, it is not a commitment",
            "/run 1",
            "wait",
            "as editor",
            "react post 2 ✅",
            "wait",
            "/post 2",
        ]
    )
    result = run_console(tmp_path, script)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert out.startswith("No Slack or Discord token set: opening the local console chat")
    assert "plan 1 · @aiaaron · structural_dread" in out
    assert "plan 1 · revision 2" in out
    drafts = [line for line in out.splitlines() if "· draft 1" in line]
    assert sorted(line.split(" · ")[2] for line in drafts) == ["hero_text"] * 4 + ["video"]
    assert "post 2 is published" in out

    card = out[out.rindex("@aiaaron · post 2") :]
    positions = [card.index(section) for section in SEED_SECTIONS]
    assert positions == sorted(positions)
    assert "published · " in card and " total · published " in card
    assert "planner structural_dread" in card
    assert f"special_message: {SEED_SPECIAL}" in card
    assert "Hero image done offline · offline-image · " in card
    assert "Hero-text card done local · pillow · " in card

    bundle = json.loads((tmp_path / "outbox" / "post-2" / "post.json").read_text())
    assert bundle["post_id"] == 2 and bundle["content_format"] == "hero_text"
    assert bundle["idempotency_key"] == "draftroom-post-2-rev-1"
    assert any(name.endswith("_card.png") for name in bundle["media"])
    for name in bundle["media"]:
        assert (tmp_path / "outbox" / "post-2" / name).stat().st_size > 0


async def test_the_seed_batch_with_no_keys_ends_with_a_real_video_for_its_video_item(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path)
    async with console_session(settings) as session:
        await session.type(
            f'/propose {SEED_IDEA} pillar:structural_dread special:"{SEED_SPECIAL}"', user="writer"
        )
        await session.type("/run 1", user="writer")
        await session.settle()
        reader = session.app.room.deps.db.reader
        video = next(p for p in await posts.posts_of_run(reader, 1) if p.content_format == "video")
        its_steps = await steps.steps_of_post(reader, video.id, video.rev)
        clip = next(s for s in its_steps if s.name == "video_clip")
        card = await session.type(f"/post {video.id}")

    assert (clip.status, clip.provider, clip.model) == ("done", "local", "draftroom-local-video")
    assert (clip.cost_usd, clip.cost_known) == (0.0, 1)
    assert clip.latency_s is not None and clip.latency_s > 0  # the render time
    assert clip.artifact is not None and clip.artifact.endswith("_clip.mp4")
    with av.open(str(settings.media_dir / clip.artifact)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        assert (stream.codec_context.name, stream.width, stream.height) == ("h264", 540, 960)
    assert frames == len(shots_of(video.video_script, video.headline)) * 3 * 24
    poster = json.loads(clip.output_json or "{}")["poster"]
    assert (settings.media_dir / poster).stat().st_size > 0
    assert f"Video clip done local · draftroom-local-video · {clip.artifact} · $0.00 · api " in card


def test_bad_input_gets_one_short_message_and_writes_nothing(tmp_path: Path) -> None:
    script = "\n".join(
        [
            "/propose",
            "/propose an idea pillar:nope",
            "/propose an idea persona:nobody",
            "/propose an idea special:\"Generate exactly 3 items: 1 with content_format='text'.\"",
            "/run 99",
            "/post 5",
            "/refine 1",
        ]
    )
    result = run_console(tmp_path, script)
    warnings = [line for line in result.stdout.splitlines() if line.startswith("  ⚠")]
    assert warnings == [
        "  ⚠ the idea is empty. Usage: /propose <idea> [pillar:NAME] [persona:HANDLE] "
        '[special:"..."]',
        "  ⚠ unknown pillar 'nope' for @aiaaron. Valid pillars: structural_dread, field_notes, "
        "plain_english.",
        "  ⚠ unknown persona 'nobody'. Valid personas: aiaaron, labnotes.",
        "  ⚠ the counts do not add up: it says exactly 3 items, but 1 = 1.",
        "  ⚠ there is no plan 99 here. Start one with /propose.",
        "  ⚠ there is no post 5 here. No posts here yet.",
        "  ⚠ give the plan and a note. Usage: /refine <plan> <note>",
    ]
    assert "Traceback" not in result.stdout + result.stderr
    for table in ("plans", "runs", "posts", "steps", "turns"):
        assert scalar(tmp_path / "draftroom.db", f"SELECT COUNT(*) FROM {table}") == 0, table


async def test_a_draft_stored_but_never_printed_is_printed_once_after_a_restart(
    tmp_path: Path,
) -> None:
    """The console's chat is its output. A kill after a draft's message was stored and before it
    was printed must not lose the card: the next start prints it, once."""
    settings = make_settings(tmp_path)
    async with console_session(settings) as session:
        await session.type('/propose one item special:"1 text"')
        await session.type("/run 1")
        await session.settle()
        assert draft_cards(session.transcript) == {(1, 1): 1}
    # Put the database back in the state a kill would have left: stored, not printed, and the
    # delivery not yet recorded as posted.
    async with support.database_for(tmp_path) as db, db.transaction() as conn:
        await conn.execute(
            "UPDATE console_messages SET printed = 0 WHERE idempotency_key = 'draft:1:1'"
        )
        await conn.execute("UPDATE deliveries SET message_id = NULL WHERE key = 'draft:1:1'")
        await conn.execute("DELETE FROM messages WHERE kind = 'draft'")
    async with console_session(settings) as session:
        await session.settle()
        assert draft_cards(session.transcript) == {(1, 1): 1}
    async with console_session(settings) as session:  # and never again
        await session.settle()
        assert draft_cards(session.transcript) == {}
