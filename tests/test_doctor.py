"""`draftroom doctor`, run as `python -m bot doctor` against the fakes: a complete set-up is all ok
and exits 0; each set-up mistake is named with its fix and exits 1; nothing is ever spent."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg

from storage import chat
from storage.doctor_queries import known_schema
from storage.postgres_db import shown_url
from storage.sqlite_db import SqliteDatabase
from tests import doctor_support, support
from tests.doctor_support import lines_of
from tests.fakes.slack import DEFAULT_SCOPES, FakeSlack


@contextlib.asynccontextmanager
async def set_up(tmp: Path, **fakes: Any) -> AsyncIterator[doctor_support.SetUp]:
    """The doctor's set-up on the running test's database (its PostgreSQL one on `[postgres]`)."""
    async with doctor_support.set_up(tmp, **fakes) as s:
        if support.DATABASE_URL:
            s.env["DATABASE_URL"] = support.DATABASE_URL
        yield s


def database_line_start(tmp: Path) -> str:
    """How the database line names the running test's database."""
    if support.DATABASE_URL:
        return f"PostgreSQL {shown_url(support.DATABASE_URL)}"
    return f"SQLite {tmp / 'd.db'}"


async def test_a_complete_set_up_is_all_ok_and_spends_nothing(tmp_path: Path) -> None:
    async with support.database_for(tmp_path, "d.db"):
        pass  # a database the bot has started on
    async with set_up(tmp_path) as s:
        code, lines = await s.doctor("doctor", "--webhook")
        assert code == 0, lines
        assert lines_of(lines, "problem") == [] and lines_of(lines, "warning") == [], lines
        assert lines[-1].startswith("All ") and lines[-1].endswith(" checks ok."), lines
        [database] = [line for line in lines if line.startswith("ok      database:")]
        assert f"database: {database_line_start(tmp_path)} opens, at schema " in database, database
        assert "(this version's)" in database
        for name in (
            "slack scopes",
            "slack app token",
            "discord message content intent",
            "text model",
            "fal key",
            "publish webhook",
        ):
            assert any(line.startswith(f"ok      {name}:") for line in lines), (name, lines)
        assert s.paid_calls() == 0
        # The webhook got one signed call it can tell apart from a post.
        [(headers, body)] = s.webhook.received
        assert headers["X-Draftroom-Test"] == "true"
        assert json.loads(body)["test"] is True
        assert s.webhook.signed_right(headers, body)


async def test_a_missing_scope_and_a_channel_the_bot_left_are_named_with_their_fixes(
    tmp_path: Path,
) -> None:
    scopes = [s for s in DEFAULT_SCOPES if s not in ("reactions:write", "files:write")]
    async with set_up(tmp_path, slack=FakeSlack(scopes=scopes)) as s:
        async with support.database_for(tmp_path, "d.db") as db, db.transaction() as conn:
            for channel in ("C0KEPT", "C0LEFT"):
                await chat.link_message(
                    conn,
                    platform="slack",
                    channel_id=channel,
                    message_id="1.2",
                    kind="plan_card",
                    now=time.time(),
                )
        s.slack.create_channel("C0KEPT")
        s.slack.create_channel("C0LEFT", member=False)
        code, lines = await s.doctor("doctor")
        assert code == 1
        [scope_line] = [line for line in lines if "slack scopes" in line]
        assert scope_line.startswith("problem slack scopes: the bot token lacks ")
        assert "reactions:write, files:write." in scope_line
        assert "Bot Token Scopes" in scope_line and "reinstall" in scope_line
        [left] = [line for line in lines if "C0LEFT" in line]
        assert left.startswith("problem") and "/invite @draftroom" in left
        [kept] = [line for line in lines if "C0KEPT" in line]
        assert kept.startswith("ok ")
        assert s.paid_calls() == 0


async def test_intents_off_an_unknown_model_and_a_404_webhook_are_problems(tmp_path: Path) -> None:
    async with set_up(tmp_path) as s:
        s.discord.privileged_intents = frozenset()
        s.env["LLM_MODEL"] = "gpt-does-not-exist"
        s.webhook.status = 404
        code, lines = await s.doctor("doctor", "--webhook")
        assert code == 1
        problems = lines_of(lines, "problem")
        [intent] = [line for line in problems if "message content intent" in line]
        assert "Privileged Gateway Intents" in intent
        [model] = [line for line in problems if line.startswith("problem text model")]
        assert "gpt-does-not-exist" in model and "gpt-4o-mini" in model and "LLM_MODEL" in model
        [hook] = [line for line in problems if "publish webhook" in line]
        assert "HTTP 404" in hook and "PUBLISH_WEBHOOK_URL" in hook
        assert s.webhook.url not in "\n".join(lines)  # only its host is ever shown
        assert len(problems) == 3, lines
        assert s.paid_calls() == 0


async def test_an_unwritable_media_folder_is_named_and_refuses_start_up_on_sqlite(
    tmp_path: Path,
) -> None:
    # SQLite only: a process held to file modes cannot open the test server's socket folder
    # (the pgserver user's, mode 0700), which would be a second problem here.
    media = tmp_path / "media"
    media.mkdir(mode=0o500)
    try:
        async with set_up(tmp_path) as s:
            code, lines = await s.doctor("doctor", bound_by_modes=True)
            assert code == 1
            [line] = lines_of(lines, "problem")
            assert line.startswith(f"problem media folder: {media} is not writable")
            assert "DRAFTROOM_MEDIA_DIR" in line
            # The bot itself does not start on it, and says so with the same line.
            code, lines = await s.doctor("console", bound_by_modes=True)
            assert code == 1
            assert lines == [f"draftroom: {line}"]
    finally:
        media.chmod(0o700)


async def test_a_database_of_a_newer_schema_is_a_problem(tmp_path: Path) -> None:
    url = support.DATABASE_URL
    if url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("INSERT INTO schema_version VALUES (999)")
        where, setting = shown_url(url), "point DATABASE_URL at another database"
        known = known_schema("migrations_pg")
    else:
        async with SqliteDatabase(tmp_path / "d.db"):
            pass
        with sqlite3.connect(tmp_path / "d.db") as conn:
            conn.execute("PRAGMA user_version = 999")
        where, setting = str(tmp_path / "d.db"), "set DRAFTROOM_DB to another file"
        known = known_schema()
    async with set_up(tmp_path) as s:
        code, lines = await s.doctor("doctor")
        assert code == 1
        [line] = lines_of(lines, "problem")
        assert line.startswith(
            f"problem database: database {where} was written by a newer draftroom"
        )
        assert f"(schema 999, this version knows {known})" in line
        assert f"Fix: upgrade draftroom, or {setting}." in line


async def test_help_setup_tells_an_approver_privately_what_is_wrong(tmp_path: Path) -> None:
    async with set_up(tmp_path) as s:
        s.env |= {"LLM_MODEL": "gpt-does-not-exist", "WEB_PORT": "0"}
        typed = "/help setup\nas editor\n/help setup\n"
        code, lines = await s.doctor("console", typed=typed)
        assert code == 0, lines
        text = "\n".join(lines)
        assert "/help setup is for approvers (APPROVERS)" in text  # writer, not an approver
        [model] = [line for line in lines if "problem text model" in line]
        assert "gpt-does-not-exist" in model and "Fix: set LLM_MODEL" in model
        assert "1 problem(s)" in text
        assert not any(line.strip().startswith("ok ") for line in lines)  # only what is wrong
        assert s.webhook.received == []  # only `doctor --webhook` calls it
        assert s.paid_calls() == 0
