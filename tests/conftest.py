from __future__ import annotations

import io
import logging
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.settings import Settings
from tests import support
from tests.fakes.slack import FakeSlack
from tests.postgres import PostgresServer
from tests.slack_support import Bot, running_bot, slack_settings
from tests.support import make_settings

# Every log line of the whole suite, at INFO and above, is kept and scanned at the end for the
# tokens, signing secrets and keys the tests configure: none may ever reach a log.
_SUITE_LOG = io.StringIO()
_SECRET_SHAPES = re.compile(
    r"xox[abp]-[\w-]{3,}|xapp-[\w-]{3,}|sk-(?:proj|ant|test)[\w-]*|fal-key[\w:-]*|LEAKCHECK"
    r"|test-signing-secret|draftroom-test-token|secret-part"
)


def pytest_configure(config: pytest.Config) -> None:
    handler = logging.StreamHandler(_SUITE_LOG)
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(min(root.level, logging.INFO) or logging.INFO)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    leaks = sorted({m.group(0) for m in _SECRET_SHAPES.finditer(_SUITE_LOG.getvalue())})
    if leaks:
        print(f"\nSECRETS IN THE SUITE'S LOGS: {leaks}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


BACKENDS = ("sqlite", "postgres")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        choices=[*BACKENDS, "both"],
        default="both",
        help="the database every test runs on (default: each test on both)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test runs on SQLite and on PostgreSQL; one with `sqlite` in its name is about
    SQLite itself (its file, WAL) and runs on SQLite only."""
    chosen = metafunc.config.getoption("--backend")
    wanted = list(BACKENDS) if chosen == "both" else [chosen]
    if "sqlite" in metafunc.function.__name__:
        wanted = [b for b in wanted if b == "sqlite"]
    metafunc.parametrize("backend", wanted, indirect=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)  # autouse: set up before any fixture that builds settings
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """The database of this test: `support.DATABASE_URL` is what `make_settings` and
    `database_for` hand out."""
    if request.param == "sqlite":
        yield "sqlite"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.fresh_database()
    support.DATABASE_URL = url
    try:
        yield "postgres"
    finally:
        moved_on = support.DATABASE_URL  # a test that started afresh (support.start_afresh)
        support.DATABASE_URL = None
        server.drop(url)
        if moved_on is not None and moved_on != url:
            server.drop(moved_on)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


# Slack is the fake most modules talk to: `fake` and `bot` are the fake Slack and the bot in HTTP
# mode against it. A module about another fake (Discord, fal, a network) defines its own `fake`.
@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        yield slack


@pytest_asyncio.fixture
async def bot(fake: FakeSlack, tmp_path: Path) -> AsyncIterator[Bot]:
    async with running_bot(fake, slack_settings(tmp_path, fake)) as running:
        yield running


def pytest_terminal_summary(terminalreporter: Any) -> None:
    from tests.web_support import HOW_TO_GET_CHROMIUM, NOT_RUN

    if NOT_RUN:
        terminalreporter.write_sep("!", "browser tests that did not run", red=True)
        terminalreporter.write_line(HOW_TO_GET_CHROMIUM)
        for nodeid in NOT_RUN:
            terminalreporter.write_line(f"  not run: {nodeid}")
