"""`draftroom migrate-to-postgres`: a SQLite database with every kind of row, written by the app
itself, copied into PostgreSQL with nothing lost, ids kept, the search working, and new rows
taking fresh ids; a target that is not empty refused with nothing written.

Each test here opens both databases itself, so each is named with `sqlite` and runs once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from storage import (
    chat,
    processes,
    reactions,
    reservations,
    search,
    slack_installations,
    variants,
    workspace_destinations,
    workspace_settings,
)
from storage.db import Database
from storage.postgres_db import PostgresDatabase
from storage.sealing import Sealer
from storage.sqlite_db import SqliteDatabase
from storage.workspace_destinations import WorkspaceDestination
from tests.postgres import PostgresServer
from tests.support import SEED_IDEA, SEED_SPECIAL, console_session, make_settings

SEARCH = "post_search"  # compared through a search, not row by row (a different index on each)
PLACE = ("console", "console")
QUESTION = "who grades the capability thresholds?"


@pytest.fixture
def target(postgres_server: PostgresServer) -> Iterator[str]:
    url = postgres_server.fresh_database()
    try:
        yield url
    finally:
        postgres_server.drop(url)


async def fill_sqlite(tmp_path: Path) -> Path:
    """The app's own rows: the seed idea proposed, refined, run; drafts approved (published),
    rejected and sent back; a post scheduled; a card and an /ask (share links, chat references).
    Then, through the storage functions that write them, the rows only a chat platform, a paid
    provider or the clock makes."""
    settings = make_settings(
        tmp_path, DATABASE_URL=None, PUBLIC_BASE_URL="https://draftroom.example/"
    )
    async with console_session(settings) as session:
        await session.type(f'/propose {SEED_IDEA} pillar:structural_dread special:"{SEED_SPECIAL}"')
        await session.type("reply plan 1 end on the document line")
        await session.type("/run 1")
        await session.settle()
        await session.type("react post 2 ✅", user="editor")
        await session.type("react post 3 ❌", user="editor")
        await session.type("react post 4 🔁", user="editor")
        await session.settle()
        assert "published" in await session.type("/post 2")
        assert "Sources" in await session.type(f"/ask {QUESTION}")
        assert "is scheduled for" in await session.type("/schedule 5 next")
        await session.settle()
    path = tmp_path / "draftroom.db"
    async with SqliteDatabase(path) as db, db.transaction() as conn:
        now = 1_790_000_000.25
        await reactions.stash_early_reaction(
            conn,
            platform="slack",
            channel_id="C1",
            message_id="1.2",
            user_id="U1",
            emoji="white_check_mark",
            action="approve",
            added=True,
            now=now,
        )
        await chat.first_sighting(conn, "slack", "Ev1", now=now)
        await chat.record_start(conn, "discord", now=now, window=60)
        call = await reservations.open_call(
            conn, amount_usd=0.125, run_id=1, step_id=1, now=now, owner="host:1:gone"
        )
        await reservations.settle(conn, call, spent_usd=0.1, now=now + 1)
        # A process row, as one that stopped without handing back would leave it.
        await processes.register(conn, "host:1:gone", now=now)
        await variants.store_variants(conn, 2, 1, {"bluesky": "short", "x": "shorter"}, now=now)
        await conn.execute(
            "INSERT INTO post_expiries (post_id, rev, expired_at) VALUES (1, 1, ?)", (now,)
        )
        # A Slack workspace installed through OAuth, and an install under way.
        installed = slack_installations.SlackInstallation(
            enterprise_id=None,
            team_id="T1",
            team_name="One",
            app_id="A1",
            bot_user_id="U0BOT",
            bot_id="B1",
            bot_scopes="commands,chat:write",
            bot_token="xoxe.xoxb-copied",
            bot_refresh_token="xoxe-1-copied",
            bot_token_expires_at=1_790_043_200,
            installer_user_id="U1",
            installed_at=now,
        )
        sealer = Sealer("Hjx0F0HXOdm3PKUVWz3B5Zq3xgwUZUVF3-GQ4S8Ou2A=")
        await slack_installations.save(conn, installed, sealer)
        await slack_installations.issue_state(conn, "state-1", now + 600, now)
        settings = workspace_settings.WorkspaceRow(
            "slack:T0MIGRATE", ("slack:U0A1",), (), 1, False, 7.5, "slack:U0ADMIN", now
        )
        await workspace_settings.put(conn, settings)
        await workspace_settings.put_personas(
            conn, "slack:T0MIGRATE", ("labnotes",), who="slack:U0ADMIN", now=now
        )
        entered = WorkspaceDestination(
            "slack:T0MIGRATE",
            "labnotes",
            "bluesky",
            {"handle": "labnotes.bsky.social"},
            {"app_password": "abcd-efgh-ijkl-mnop"},
            updated_by="slack:U0ADMIN",
            updated_at=now,
        )
        await workspace_destinations.put(conn, sealer, entered)
    return path


async def tables_of(db: Database) -> list[str]:
    rows = await db.fetchall(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        " AND table_name NOT IN ('schema_version', ?) ORDER BY table_name",
        (SEARCH,),
    )
    return [str(r[0]) for r in rows]


async def rows_of(db: Database, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
    """The table's rows, each in `columns` order, sorted (both sides alike, whatever the
    database's text collation)."""
    names = ", ".join(f'"{c}"' for c in columns)
    rows = [
        tuple(r[i] for i in range(len(columns)))
        for r in await db.fetchall(f"SELECT {names} FROM {table}")
    ]
    return sorted(rows, key=lambda row: tuple((v is None, v if v is not None else 0) for v in row))


async def columns_of(db: SqliteDatabase, table: str) -> list[str]:
    return [str(r["name"]) for r in await db.fetchall(f'PRAGMA table_info("{table}")')]


async def migrate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, path: Path, url: str) -> None:
    monkeypatch.chdir(tmp_path)  # no .env but the test's own
    monkeypatch.setenv("DRAFTROOM_DB", str(path))
    monkeypatch.setenv("DATABASE_URL", url)
    await asyncio.to_thread(main, ["migrate-to-postgres"])  # it runs its own event loop


async def refusal(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, path: Path, url: str) -> str:
    with pytest.raises(SystemExit) as exited:
        await migrate(monkeypatch, tmp_path, path, url)
    assert isinstance(exited.value.code, str)  # printed on stderr, exit status 1
    assert "\n" not in exited.value.code and "Traceback" not in exited.value.code
    return exited.value.code


async def test_sqlite_database_with_every_kind_of_row_copies_whole(
    backend: str,
    tmp_path: Path,
    target: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = await fill_sqlite(tmp_path)
    async with SqliteDatabase(path) as lite:
        found_before = [p.id for p in await search.search_posts(lite.reader, QUESTION, place=PLACE)]
        lite_tables = [
            str(r[0])
            for r in await lite.fetchall(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE ?",
                (f"{SEARCH}%",),
            )
        ]
        expected = {t: await rows_of(lite, t, await columns_of(lite, t)) for t in lite_tables}
        search_rows = int(await lite.scalar(f"SELECT COUNT(*) FROM {SEARCH}"))
    empty = sorted(t for t, rows in expected.items() if not rows)
    assert empty == [], f"the source should hold a row of every kind; empty: {empty}"
    assert found_before and search_rows == len(expected["posts"]) == 5

    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        await migrate(monkeypatch, tmp_path, path, target)
    assert exited.value.code == 0
    printed = capsys.readouterr().out.splitlines()
    for table, rows in expected.items():
        assert f"{table}: {len(rows)} rows copied" in printed
    assert f"{SEARCH}: 5 posts indexed" in printed
    total = sum(len(rows) for rows in expected.values())
    assert printed[-1].startswith(f"Copied {total} rows from {path} to ")

    async with SqliteDatabase(path) as lite, PostgresDatabase(target) as pg:
        assert sorted(await tables_of(pg)) == sorted(expected)
        for table, rows in expected.items():
            copied = await rows_of(pg, table, await columns_of(lite, table))
            assert len(copied) == len(rows), table
            assert copied == rows, table  # floats too: a double precision holds a REAL exactly
        found_after = [p.id for p in await search.search_posts(pg.reader, QUESTION, place=PLACE)]
        assert sorted(found_after) == sorted(found_before)  # ranked by each one's own measure

    # The app on PostgreSQL: new rows take the next ids, none collides with a copied one.
    settings = make_settings(tmp_path, DATABASE_URL=target)
    async with console_session(settings) as session:
        said = await session.type(f"/propose {SEED_IDEA} pillar:structural_dread")
        assert "plan 2 · @aiaaron" in said
        await session.type("/run 2")
        await session.settle()
        assert "post 6 · @aiaaron" in session.transcript
    async with PostgresDatabase(target) as pg:
        assert await pg.scalar("SELECT MIN(id) FROM posts WHERE plan_id = 2") == 6
        assert await pg.scalar("SELECT COUNT(*) FROM posts WHERE plan_id = 1") == 5

    assert "already holds rows (" in await refusal(monkeypatch, tmp_path, path, target)


async def test_sqlite_copy_refuses_a_target_with_rows_and_writes_nothing(
    backend: str, tmp_path: Path, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = await fill_sqlite(tmp_path)
    async with PostgresDatabase(target) as pg, pg.transaction() as conn:
        await conn.execute(
            "INSERT INTO plans (persona, pillar, idea, proposer, platform, channel_id, created_at)"
            " VALUES ('aiaaron', 'p', 'already here', 'u', 'console', 'console', 1)"
        )
    said = await refusal(monkeypatch, tmp_path, path, target)
    assert said.startswith("draftroom: the PostgreSQL database already holds rows (plans: 1)")
    assert "Point DATABASE_URL at a new, empty database" in said
    async with PostgresDatabase(target) as pg:
        counts = {t: await pg.scalar(f"SELECT COUNT(*) FROM {t}") for t in await tables_of(pg)}
        assert await pg.scalar(f"SELECT COUNT(*) FROM {SEARCH}") == 0
        assert await pg.scalar("SELECT idea FROM plans") == "already here"
    assert {t: n for t, n in counts.items() if n} == {"plans": 1}


async def test_sqlite_copy_failing_halfway_leaves_the_target_empty(
    backend: str, tmp_path: Path, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = await fill_sqlite(tmp_path)
    async with PostgresDatabase(target) as pg, pg.transaction() as conn:
        # A table copied after plans, runs and posts refuses its rows: the copy fails there.
        await conn.execute("ALTER TABLE shares ADD CONSTRAINT no_shares CHECK (id < 0)")
    said = await refusal(monkeypatch, tmp_path, path, target)
    assert said.startswith("draftroom: the copy failed and was rolled back: ")
    assert "no_shares" in said
    async with PostgresDatabase(target) as pg:
        counts = {t: await pg.scalar(f"SELECT COUNT(*) FROM {t}") for t in await tables_of(pg)}
        assert await pg.scalar(f"SELECT COUNT(*) FROM {SEARCH}") == 0
    assert counts["plans"] == 0 and set(counts.values()) == {0}


async def test_sqlite_copy_needs_a_postgres_url_and_an_existing_file(
    backend: str, tmp_path: Path, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nothing.db"
    said = await refusal(monkeypatch, tmp_path, missing, target)
    assert said == (
        f"draftroom: DRAFTROOM_DB {missing} does not exist: set it to the SQLite file to copy from"
    )
    assert not missing.exists()
    said = await refusal(monkeypatch, tmp_path, missing, "sqlite:///elsewhere.db")
    assert "set it to the new database's postgresql:// URL" in said
