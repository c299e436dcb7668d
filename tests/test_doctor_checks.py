"""The doctor's checks one by one, in process against the fakes: each set-up mistake gives one
problem line naming it and its fix; nothing is spent."""

from __future__ import annotations

import contextlib
import socket
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bot.doctor import run_checks
from bot.doctor_check import Check
from tests import doctor_support, support
from tests.fakes.fal import FakeFal
from tests.fakes.providers import FakeAnthropic

ADD_REACTIONS = 1 << 6


@contextlib.asynccontextmanager
async def set_up(tmp: Path, **fakes: Any) -> AsyncIterator[doctor_support.SetUp]:
    """The doctor's set-up on the running test's database (its PostgreSQL one on `[postgres]`)."""
    async with doctor_support.set_up(tmp, **fakes) as s:
        if support.DATABASE_URL:
            s.env["DATABASE_URL"] = support.DATABASE_URL
        yield s


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        return int(closed.getsockname()[1])


def named(checks: list[Check], start: str) -> list[Check]:
    return [c for c in checks if c.name.startswith(start)]


def problems(checks: list[Check]) -> list[Check]:
    return [c for c in checks if c.level == "problem"]


async def test_a_permission_the_bot_lacks_in_a_server_is_named(tmp_path: Path) -> None:
    async with set_up(tmp_path) as s:
        for role in s.discord.roles:  # neither @everyone nor the bot's role grants it
            role["permissions"] = str(int(role["permissions"]) & ~ADD_REACTIONS)
        checks = await run_checks(s.settings())
        [server] = problems(checks)
        assert server.name == f"discord server Draftroom Test ({s.discord.guild_id})"
        assert server.detail == "the bot lacks add_reactions."
        assert "draftroom discord-invite" in server.fix
        assert s.paid_calls() == 0


async def test_a_guild_id_the_bot_is_not_in_and_a_bot_in_no_server(tmp_path: Path) -> None:
    async with set_up(tmp_path) as s:
        s.env["DISCORD_GUILD_ID"] = "1300000000000000999"
        [guild] = problems(await run_checks(s.settings()))
        assert guild.name == "discord guild id"
        assert "1300000000000000999 is not a server the bot is in" in guild.detail
        assert str(s.discord.guild_id) in guild.fix
        s.discord.bot_in_guild = False
        found = problems(await run_checks(s.settings()))
        assert found[0].detail == "the bot is in no server."


async def test_a_refused_discord_token_stops_the_discord_checks(tmp_path: Path) -> None:
    async with set_up(tmp_path) as s:
        s.env["DISCORD_BOT_TOKEN"] = "MTIwMDAwMDAwMDAwMDAwMDAwMQ.fake.wrong"
        checks = await run_checks(s.settings())
        assert [c.name for c in named(checks, "discord")] == ["discord token"]
        assert "DISCORD_BOT_TOKEN" in problems(checks)[0].detail


async def test_slack_http_mode_needs_its_secret_and_a_free_port(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        async with set_up(tmp_path) as s:
            del s.env["SLACK_APP_TOKEN"], s.env["SLACK_SIGNING_SECRET"]
            s.env["SLACK_PORT"] = str(port)
            found = {c.name: c for c in problems(await run_checks(s.settings()))}
            assert set(found) == {"slack signing secret", "slack http port"}
            assert f"port {port} is in use" in found["slack http port"].detail
            assert "SLACK_PORT" in found["slack http port"].fix
            assert "SLACK_SIGNING_SECRET" in found["slack signing secret"].fix


async def test_a_wrong_bot_token_and_a_wrong_app_token(tmp_path: Path) -> None:
    async with set_up(tmp_path) as s:
        s.env["SLACK_APP_TOKEN"] = "xapp-1-A0APP-an-old-one"
        [app] = problems(await run_checks(s.settings()))
        assert app.name == "slack app token" and "invalid_auth" in app.detail
        assert "connections:write" in app.fix
        s.env["SLACK_BOT_TOKEN"] = "xoxb-not-this-one"
        checks = await run_checks(s.settings())
        assert [c.name for c in named(checks, "slack")] == ["slack token"]
        [token] = problems(checks)
        assert "invalid_auth" in token.detail and "SLACK_BOT_TOKEN" in token.fix


async def test_an_anthropic_model_is_found_by_its_alias_or_named_when_unknown(
    tmp_path: Path,
) -> None:
    async with set_up(tmp_path, text=FakeAnthropic(api_key="sk-ant-doctor")) as s:
        s.env |= {"LLM_PROVIDER": "anthropic", "LLM_BASE_URL": s.text.base_url}
        s.env |= {"LLM_API_KEY": "sk-ant-doctor", "LLM_MODEL": "claude-sonnet-4-5"}
        checks = await run_checks(s.settings())
        assert [c.level for c in named(checks, "text")] == ["ok", "ok"]
        s.env["LLM_MODEL"] = "claude-sonnet-9"
        [model] = problems(await run_checks(s.settings()))
        assert "claude-sonnet-9 is not a model this server has" in model.detail
        assert "claude-sonnet-4-5-20250929" in model.detail
        s.env["LLM_API_KEY"] = "sk-ant-wrong"
        [key] = problems(await run_checks(s.settings()))
        assert "refused LLM_API_KEY" in key.detail
        assert s.paid_calls() == 0


async def test_an_unpriced_model_is_a_warning_naming_the_price_settings(tmp_path: Path) -> None:
    async with set_up(tmp_path) as s:
        s.env["LLM_MODEL"] = "gpt-test"
        checks = await run_checks(s.settings())
        assert problems(checks) == []
        [price] = [c for c in checks if c.level == "warning" and c.name != "publish webhook"]
        assert price.name == "text price" and "LLM_PRICE_INPUT_PER_MTOK" in price.fix


async def test_fal_a_refused_key_an_unknown_model_and_an_unpriced_one(tmp_path: Path) -> None:
    async with set_up(tmp_path, fal=FakeFal(api_key="fal-key-doctor")) as s:
        s.env["FAL_KEY"] = "fal-key-wrong"
        [key] = problems(await run_checks(s.settings()))
        assert key.name == "fal key" and "FAL_KEY" in key.fix
        s.env |= {"FAL_KEY": "fal-key-doctor", "IMAGE_MODEL": "fal-ai/not-a-model"}
        [model] = problems(await run_checks(s.settings()))
        assert "fal-ai/not-a-model" in model.detail and "IMAGE_MODEL" in model.fix
        s.fal.prices = {"fal-ai/flux/dev": 0.025}
        s.env["IMAGE_MODEL"] = "fal-ai/flux/dev"
        checks = await run_checks(s.settings())
        assert problems(checks) == []
        [price] = [c for c in checks if c.level == "warning" and c.name != "publish webhook"]
        assert price.name == "fal model fal-ai/flux/dev" and "IMAGE_PRICE_USD" in price.fix
        assert s.paid_calls() == 0


async def test_a_media_host_that_resolves_to_this_machine_is_a_problem(tmp_path: Path) -> None:
    async with set_up(tmp_path) as s:
        s.env["MEDIA_HOSTS"] = f"{s.fal.media_host},localhost"
        [host] = problems(await run_checks(s.settings()))
        assert host.name == "media host localhost"
        assert "127.0.0.1" in host.detail and "MEDIA_HOSTS" in host.fix


async def test_a_server_that_does_not_answer_is_named_without_its_url(tmp_path: Path) -> None:
    port = closed_port()
    async with set_up(tmp_path) as s:
        s.env["LLM_BASE_URL"] = f"http://127.0.0.1:{port}/v1"
        [down] = problems(await run_checks(s.settings()))
        assert down.name == "text model" and "LLM_BASE_URL" in down.fix
        assert str(port) not in down.line()


async def test_a_sqlite_file_of_an_older_schema_is_fine_and_migrated_at_the_next_start(
    tmp_path: Path,
) -> None:
    first = (
        Path(__file__).parent.parent / "storage" / "migrations" / "0001_initial.sql"
    ).read_text()
    with sqlite3.connect(tmp_path / "d.db") as conn:
        conn.executescript(first + "\nPRAGMA user_version = 1;")
    async with set_up(tmp_path) as s:
        checks = await run_checks(s.settings())
        assert problems(checks) == []
        [database] = named(checks, "database")
        assert (
            database.level == "ok"
            and "is at schema 1; the next start migrates it" in database.detail
        )


async def test_an_unreachable_database_url_is_named_without_its_password(tmp_path: Path) -> None:
    port = closed_port()
    async with set_up(tmp_path) as s:
        s.env["DATABASE_URL"] = f"postgresql://draftroom:pw-not-shown@127.0.0.1:{port}/draftroom"
        checks = await run_checks(s.settings())
        [database] = problems(checks)
        assert database.name == "database"
        assert database.detail.startswith(
            f"database postgresql://draftroom@127.0.0.1:{port}/draftroom cannot be reached ("
        )
        assert "DATABASE_URL" in database.fix and "server runs" in database.fix
        assert "pw-not-shown" not in database.line()
        # Today's spend is unknown, not taken for $0.
        [budget] = named(checks, "budget")
        assert budget.level == "warning" and "unknown" in budget.detail


async def test_a_url_that_is_not_postgresql_is_a_problem(tmp_path: Path) -> None:
    async with set_up(tmp_path) as s:
        s.env["DATABASE_URL"] = "mysql://draftroom:pw-not-shown@127.0.0.1/draftroom"
        [database] = problems(await run_checks(s.settings()))
        assert database.name == "database" and "not a PostgreSQL URL" in database.detail
        assert "postgresql://" in database.fix and "pw-not-shown" not in database.line()


async def test_a_database_not_made_yet_is_fine_and_the_doctor_makes_nothing(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    async with set_up(tmp_path) as s:
        if backend == "postgres":
            server = request.getfixturevalue("postgres_server")
            url = server.fresh_database(empty=True)
            request.addfinalizer(lambda: server.drop(url))
            s.env["DATABASE_URL"] = url
        checks = await run_checks(s.settings())
        assert problems(checks) == []
        [database] = named(checks, "database")
        if backend == "postgres":
            assert database.detail.startswith("PostgreSQL postgresql://")
            assert database.detail.endswith(
                " has no tables yet; the first start creates the tables."
            )
            with psycopg.connect(url) as conn:
                [(made,)] = conn.execute("SELECT to_regclass('schema_version')").fetchall()
            assert made is None
        else:
            assert (
                database.detail == f"SQLite {tmp_path / 'd.db'} will be created at the first start."
            )
            assert not (tmp_path / "d.db").exists()
