"""Starting on a database that cannot be used: one line naming the file (or the PostgreSQL
database) and what to do, and a non-zero exit within seconds, never a traceback or a process
that hangs. Most cases are about the SQLite file itself and run on SQLite only.

Each case runs the console as a subprocess, as a supervisor would start it. Permission bits do
not stop root, so when the suite runs as root the permission cases run the bot without the
capabilities that override them (`setpriv`, util-linux): still root, so it reaches a checkout in
a folder only root may enter, but held to the file's mode like any user.
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from storage import plans
from storage.postgres_db import shown_url
from storage.sqlite_db import SqliteDatabase
from tests import support

ROOT = Path(__file__).resolve().parent.parent
EXIT_WITHIN_S = 15
RESTORE = "restore it from a backup, or move it away to start afresh"
# As root, the bot runs without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH, so modes bind it.
BOUND_BY_MODES = (
    ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]
    if os.geteuid() == 0
    else []
)


def newest_migration(folder: str = "migrations") -> int:
    return max(int(p.name[:4]) for p in (ROOT / "storage" / folder).glob("[0-9]*.sql"))


def start_console(
    db: Path, cwd: Path, *, bound_by_modes: bool = False, database_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Start `python -m bot console` on `db` (or on `database_url`, when given); raises
    TimeoutExpired if it does not exit."""
    env = {
        **os.environ,
        "DRAFTROOM_DB": str(db),
        "DRAFTROOM_MEDIA_DIR": str(cwd / "media"),
        "DRAFTROOM_OUTBOX_DIR": str(cwd / "outbox"),
        "PYTHONPATH": str(ROOT),
    }
    for name in ("SLACK_BOT_TOKEN", "DISCORD_BOT_TOKEN", "DATABASE_URL"):
        env.pop(name, None)
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    return subprocess.run(
        [*(BOUND_BY_MODES if bound_by_modes else []), sys.executable, "-m", "bot", "console"],
        input="help\n",
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=EXIT_WITHIN_S,
    )


def assert_refused(result: subprocess.CompletedProcess[str], db: Path | str, says: str) -> None:
    assert "Traceback" not in result.stderr
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"draftroom: database {db} ")
    assert says in lines[0]


async def real_database(path: Path, plans_count: int = 1) -> None:
    async with SqliteDatabase(path) as db, db.transaction() as conn:
        for i in range(plans_count):
            await plans.create_plan(
                conn,
                persona="aiaaron",
                pillar="structural_dread",
                idea=f"idea {i}: " + "words that fill pages " * 40,
                proposer="writer",
                platform="console",
                channel_id="console",
                now=0.0,
            )


@pytest.mark.parametrize(
    "content",
    [random.Random(9).randbytes(64 * 1024), b"notes, not a database\n" * 200],
    ids=["random-bytes", "text-file"],
)
def test_a_file_that_is_not_a_sqlite_database(tmp_path: Path, content: bytes) -> None:
    db = tmp_path / "draftroom.db"
    db.write_bytes(content)
    result = start_console(db, tmp_path)
    assert_refused(
        result,
        db,
        f"is not a SQLite database, or is damaged (SQLite: file is not a database): {RESTORE}",
    )
    assert db.read_bytes() == content


def test_a_damaged_sqlite_database(tmp_path: Path) -> None:
    db = tmp_path / "draftroom.db"
    asyncio.run(real_database(db, plans_count=200))
    page = 4096
    middle = (db.stat().st_size // page // 2) * page
    with db.open("r+b") as file:
        file.seek(middle)
        file.write(random.Random(4).randbytes(3 * page))
    damaged = db.read_bytes()
    result = start_console(db, tmp_path)
    assert_refused(result, db, "is damaged (SQLite")
    assert result.stderr.rstrip().endswith(RESTORE)
    assert db.read_bytes() == damaged


def test_a_directory_as_the_sqlite_file(tmp_path: Path) -> None:
    db = tmp_path / "draftroom.db"
    db.mkdir()
    result = start_console(db, tmp_path)
    assert_refused(result, db, "is a directory, not a database file: set DRAFTROOM_DB to a file")


def test_a_sqlite_path_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("a file where a folder should be")
    db = tmp_path / "data" / "draftroom.db"
    result = start_console(db, tmp_path)
    assert_refused(result, db, f"cannot be created: {tmp_path / 'data'} is a file, not a folder")


def test_a_sqlite_file_this_user_may_not_read(tmp_path: Path) -> None:
    db = tmp_path / "draftroom.db"
    asyncio.run(real_database(db))
    db.chmod(0o000)
    result = start_console(db, tmp_path, bound_by_modes=True)
    assert_refused(result, db, "cannot be read and written by this user (uid ")
    assert result.stderr.rstrip().endswith("fix its owner or mode")


def test_a_folder_this_user_may_not_write_for_sqlite(tmp_path: Path) -> None:
    folder = tmp_path / "readonly"
    folder.mkdir()
    folder.chmod(0o555)
    db = folder / "draftroom.db"
    result = start_console(db, tmp_path, bound_by_modes=True)
    assert_refused(result, db, f"needs its folder {folder} to be writable by this user")
    assert not db.exists()


def test_a_sqlite_database_from_a_newer_draftroom(tmp_path: Path) -> None:
    db = tmp_path / "draftroom.db"
    asyncio.run(real_database(db))
    newer = newest_migration() + 1
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version={newer}")
    result = start_console(db, tmp_path)
    assert_refused(
        result,
        db,
        f"was written by a newer draftroom (schema {newer}, this version knows "
        f"{newest_migration()}): upgrade draftroom",
    )
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (newer,)


def test_a_postgres_database_from_a_newer_draftroom(tmp_path: Path) -> None:
    url = support.DATABASE_URL
    if url is None:
        pytest.skip("about PostgreSQL: the SQLite case is the test above")
    newer = newest_migration("migrations_pg") + 1
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_version VALUES (%s)", (newer,))
    result = start_console(tmp_path / "draftroom.db", tmp_path, database_url=url)
    assert_refused(
        result,
        shown_url(url),
        f"was written by a newer draftroom (schema {newer}, this version knows "
        f"{newest_migration('migrations_pg')}): upgrade draftroom",
    )
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone() == (newer,)
    assert not (tmp_path / "draftroom.db").exists()
