"""bolt's installation and OAuth state stores, on draftroom's own database (both backends).

bolt ships a SQLite store that blocks the event loop; these are async and use the room's
database. A workspace's installation is read once and kept in the process (`CACHE_S` at most,
so an install or uninstall seen by another process reaches this one in time): every event
looks its token up, and the look-up must cost no query. Saving (an install, a rotation) and
deleting (an uninstall) replace or drop the kept copy at once.

Tokens are sealed in the row (`storage.sealing`): the store hands bolt the clear token, the
database never sees one.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable

from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from storage import slack_installations as rows
from storage.db import Database
from storage.sealing import Sealer, SealingKeyError
from storage.slack_installations import SlackInstallation

log = logging.getLogger(__name__)

# Database and SealingKeyError: for bot.slack_oauth, which imports nothing of storage itself.
__all__ = [
    "Database",
    "DraftroomInstallationStore",
    "DraftroomStateStore",
    "SealingKeyError",
    "installation_of",
    "sealer",
    "workspace_key",
]

CACHE_S = 60.0
Key = tuple[str, str]  # (enterprise id or '', team id or '')


def workspace_key(
    enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
) -> Key:
    """An org-wide install is the enterprise's: its events name a team, its row does not."""
    return rows.workspace_key(enterprise_id, None if is_enterprise_install else team_id)


def sealer(keys: str) -> Sealer:
    """SECRETS_KEY's keys; `SealingKeyError` (one line, saying how to make a key) if unusable."""
    return Sealer(keys)


class DraftroomInstallationStore(AsyncInstallationStore):
    def __init__(
        self, db: Database, sealer: Sealer, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.db, self.sealer, self.clock = db, sealer, clock
        self._kept: dict[Key, tuple[float, SlackInstallation]] = {}
        self._sole: tuple[float, SlackInstallation | None] | None = None

    @property
    def logger(self) -> logging.Logger:
        return log

    # ------------------------------------------------------------------ bolt's interface

    async def async_save(self, installation: Installation) -> None:
        found = _row(installation)
        async with self.db.transaction() as conn:
            await rows.save(conn, found, self.sealer)
        self._keep(found)

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        """The workspace's installation; with `user_id`, only if that user installed it (no
        user tokens are kept, so no other user has an installation of their own)."""
        key = workspace_key(enterprise_id, team_id, is_enterprise_install)
        found = self._kept_row(key) or await self.read(key)
        if found is None or (user_id is not None and user_id != found.installer_user_id):
            return None
        return installation_of(found)

    # `async_find_bot` is left unimplemented on purpose: bolt then rotates tokens only on the
    # path that `bot.slack_oauth.LockedRotationAuthorize` guards.

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        if user_id is None:  # a user's own tokens are never kept: nothing else to delete
            await self.delete_workspace(enterprise_id, team_id)

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.delete_workspace(enterprise_id, team_id)

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.delete_workspace(enterprise_id, team_id)

    # ------------------------------------------------------------------ draftroom's own

    async def read(self, key: Key) -> SlackInstallation | None:
        """The installation as the database has it now (another process may have rotated it)."""
        found = await rows.find(self.db.reader, self.sealer, key[0] or None, key[1] or None)
        if found is None:
            self._kept.pop(key, None)
        else:
            self._keep(found)
        return found

    async def delete_workspace(
        self, enterprise_id: str | None, team_id: str | None
    ) -> dict[str, int]:
        """Everything the workspace owns, gone in one transaction; rows deleted per table. In
        turn with a refresh, which would otherwise save the row again after it."""
        key = rows.workspace_key(enterprise_id, team_id)
        async with self.rotation_turn(key), self.db.transaction() as conn:
            counts = await rows.delete_workspace(conn, enterprise_id, team_id)
        self._kept.pop(key, None)
        self._sole = None
        log.info("Slack: workspace %s/%s uninstalled: %s", enterprise_id, team_id, counts)
        return counts

    async def sole_installation(self) -> SlackInstallation | None:
        """The installation when exactly one workspace is installed, else None."""
        now = self.clock()
        if self._sole is not None and now - self._sole[0] < CACHE_S:
            return self._sole[1]
        keys = await rows.installed(self.db.reader)
        found = await self.read(keys[0]) if len(keys) == 1 else None
        self._sole = (now, found)
        return found

    @contextlib.asynccontextmanager
    async def rotation_turn(self, key: Key) -> AsyncIterator[None]:
        """One refresh of the workspace's tokens at a time, across every process."""
        async with self.db.exclusive(f"slack-token-rotation:{key[0]}:{key[1]}"):
            yield

    def _kept_row(self, key: Key) -> SlackInstallation | None:
        kept = self._kept.get(key)
        if kept is None or self.clock() - kept[0] >= CACHE_S:
            return None
        return kept[1]

    def _keep(self, found: SlackInstallation) -> None:
        self._kept[rows.workspace_key(found.enterprise_id, found.team_id)] = (self.clock(), found)
        self._sole = None


class DraftroomStateStore(AsyncOAuthStateStore):
    """OAuth states in the database: any process can finish an install another one began,
    and each state is consumed once."""

    def __init__(
        self, db: Database, *, expiration_s: float, clock: Callable[[], float] = time.time
    ) -> None:
        self.db, self.expiration_s, self.clock = db, expiration_s, clock

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: object, **kwargs: object) -> str:
        state = secrets.token_urlsafe(24)
        now = self.clock()
        async with self.db.transaction() as conn:
            await rows.issue_state(conn, state, now + self.expiration_s, now)
        return state

    async def async_consume(self, state: str) -> bool:
        async with self.db.transaction() as conn:
            return await rows.consume_state(conn, state, self.clock())


def _row(installation: Installation) -> SlackInstallation:
    if not installation.bot_token:
        raise ValueError("an installation without a bot token")  # draftroom asks bot scopes
    return SlackInstallation(
        enterprise_id=installation.enterprise_id,
        team_id=None if installation.is_enterprise_install else installation.team_id,
        enterprise_name=installation.enterprise_name,
        enterprise_url=installation.enterprise_url,
        team_name=installation.team_name,
        app_id=installation.app_id,
        bot_user_id=installation.bot_user_id,
        bot_id=installation.bot_id,
        bot_scopes=",".join(installation.bot_scopes or ()),
        bot_token=installation.bot_token,
        bot_refresh_token=installation.bot_refresh_token,
        bot_token_expires_at=installation.bot_token_expires_at,
        installer_user_id=installation.user_id or None,
        installed_at=float(installation.installed_at),
        is_enterprise_install=bool(installation.is_enterprise_install),
        token_type=installation.token_type,
    )


def installation_of(found: SlackInstallation) -> Installation:
    """A new object each time: bolt changes the installation it is handed."""
    return Installation(
        app_id=found.app_id,
        enterprise_id=found.enterprise_id,
        enterprise_name=found.enterprise_name,
        enterprise_url=found.enterprise_url,
        team_id=found.team_id,
        team_name=found.team_name,
        bot_token=found.bot_token,
        bot_id=found.bot_id,
        bot_user_id=found.bot_user_id,
        bot_scopes=found.bot_scopes,
        bot_refresh_token=found.bot_refresh_token,
        bot_token_expires_at=found.bot_token_expires_at,
        user_id=found.installer_user_id or "",
        is_enterprise_install=found.is_enterprise_install,
        token_type=found.token_type,
        installed_at=found.installed_at,
    )
