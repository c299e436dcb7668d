"""The console's channel, kept by the core: the console is a platform whose server is this
process, so its messages live in the database and their ids survive a restart like a
platform's would. The console adapter reaches them only through this object."""

from __future__ import annotations

from collections.abc import Callable

from storage import console
from storage.db import Database


class ConsoleMessages:
    def __init__(self, db: Database, clock: Callable[[], float]) -> None:
        self.db = db
        self.clock = clock

    async def add(self, text: str, *, thread_id: str | None, key: str | None) -> int | None:
        """A new message's number (stored, not yet printed); None if `key` was posted before."""
        async with self.db.transaction() as conn:
            return await console.add_console_message(
                conn, text=text, thread_id=thread_id, key=key, now=self.clock()
            )

    async def printed(self, number: int, shown: str) -> None:
        async with self.db.transaction() as conn:
            await console.mark_console_printed(conn, number, shown)

    async def unprinted(self, key: str) -> tuple[int, str] | None:
        return await console.unprinted_console_message(self.db.reader, key)

    async def by_key(self, key: str) -> int | None:
        return await console.console_message_by_key(self.db.reader, key)
