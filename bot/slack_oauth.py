"""Installing draftroom in many Slack workspaces: bolt's OAuth v2 flow, token rotation under a
lock, and uninstalling.

With SLACK_CLIENT_ID and SLACK_CLIENT_SECRET set, `GET /slack/install` sends the installer to
Slack's authorize page (the state in bolt's cookie and in the database, consumed once), and
`GET /slack/oauth_redirect` exchanges the code and saves the workspace's installation
(`bot.slack_installation_store`, tokens sealed with SECRETS_KEY). Each request from Slack is
authorized with its workspace's bot token. Only HTTP mode serves the install pages.

Token rotation is on: a bot token expiring within `ROTATE_BEFORE_MIN` is refreshed. While it
still has more than `MUST_REFRESH_S` to live, the request goes on with it and the refresh runs
beside it (one per workspace in a process), so no acknowledgement waits for a refresh, nor for
another process's; a token closer to its end than that is refreshed before it is used. A
refresh token can be spent once, so the refresh takes the workspace's turn across every process
(`Database.exclusive`) and reads the installation again inside it: another process may have
refreshed it a moment ago, and then its token is the one to use. bolt's
`AsyncInstallationStoreAuthorize` calls `_rotate_and_save_tokens_if_necessary` for each request
with the installation it found; that is the one method overridden here.

`app_uninstalled` and `tokens_revoked` (of the bot) delete everything the workspace owns.

The room's own calls (`SlackPort`, the Home tab) go through `TeamRoutedClient`:
each with the bot token of the workspace whose channel it names, or of the request it serves.
"""

from __future__ import annotations

import asyncio
import html
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError, SlackTokenRotationError
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import ConfigError
from bot.settings import Settings
from bot.slack_installation_store import (
    Database,
    DraftroomInstallationStore,
    DraftroomStateStore,
    Key,
    SealingKeyError,
    installation_of,
    sealer,
    workspace_key,
)
from bot.slack_port import SlackClient
from bot.slack_scopes import BOT_SCOPES
from bot.slack_teams import CallArgs, route

log = logging.getLogger(__name__)

INSTALL_PATH, REDIRECT_PATH = "/slack/install", "/slack/oauth_redirect"
ROTATE_BEFORE_MIN = 120  # Slack's tokens live 12 hours; refreshed in their last two
MUST_REFRESH_S = 300  # closer to its expiry than this, a token is refreshed before it is used
STATE_EXPIRATION_S = 600
NOT_INSTALLED = (
    ":warning: draftroom is not installed in this workspace any more. "
    f"Install it again from {INSTALL_PATH}."
)


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None and value.get_secret_value() else None


class WorkspaceTokens:
    """Each workspace's bot token, refreshed when it nears its expiry, one refresh at a time."""

    def __init__(self, store: DraftroomInstallationStore, rotator: AsyncTokenRotator) -> None:
        self.store, self.rotator = store, rotator
        self._beside: dict[Key, asyncio.Task[None]] = {}  # refreshes running beside requests

    async def rotated(self, installation: Installation) -> Installation | None:
        """The installation with fresh tokens if they had to be refreshed first (by this process
        or by another one a moment ago), else None: the installation's token is good to use."""
        expires_at = installation.bot_token_expires_at
        if not _expiring(expires_at):
            return None
        key = workspace_key(
            installation.enterprise_id, installation.team_id, installation.is_enterprise_install
        )
        assert expires_at is not None
        if expires_at > time.time() + MUST_REFRESH_S:
            self._refresh_beside(key, installation)
            return None
        return await self._refresh(key, installation)

    def _refresh_beside(self, key: Key, installation: Installation) -> None:
        running = self._beside.get(key)
        if running is None or running.done():
            self._beside[key] = asyncio.create_task(self._refresh_logged(key, installation))

    async def _refresh_logged(self, key: Key, installation: Installation) -> None:
        try:
            await self._refresh(key, installation)
        except Exception as exc:  # the next request tries again; the token still works
            log.warning("Slack: refreshing the bot token of %s/%s failed: %s", *key, exc)

    async def close(self) -> None:
        """Wait for the refreshes running beside requests (a refresh token spent must be
        saved)."""
        await asyncio.gather(*self._beside.values(), return_exceptions=True)
        self._beside.clear()

    async def _refresh(self, key: Key, installation: Installation) -> Installation | None:
        async with self.store.rotation_turn(key):
            now = await self.store.read(key)
            if now is None:
                gone = {"ok": False, "error": "not_installed"}
                error = SlackApiError("uninstalled meanwhile", gone)  # type: ignore[no-untyped-call]
                raise SlackTokenRotationError(error)
            current = installation_of(now)
            refreshed = await self.rotator.perform_token_rotation(
                installation=current, minutes_before_expiration=ROTATE_BEFORE_MIN
            )
            if refreshed is not None:
                await self.store.async_save(refreshed)
                log.info("Slack: refreshed the bot token of %s/%s", *key)
                return refreshed
        return current if current.bot_token != installation.bot_token else None

    async def bot_token(self, team: str | None) -> str | None:
        """The team's bot token (None: the one installed workspace's), refreshed if it must be;
        None if it is not installed (or, for no team, if none or several are)."""
        if team is None:
            found = await self.store.sole_installation()
            installation = None if found is None else installation_of(found)
        else:
            org = team.startswith("E")  # an org-wide install's calls go with the org's token
            installation = await self.store.async_find_installation(
                enterprise_id=team if org else None,
                team_id=None if org else team,
                is_enterprise_install=org,
            )
        if installation is None:
            return None
        return ((await self.rotated(installation)) or installation).bot_token


def _expiring(expires_at: int | None) -> bool:
    return expires_at is not None and expires_at <= time.time() + ROTATE_BEFORE_MIN * 60


class LockedRotationAuthorize(AsyncInstallationStoreAuthorize):
    """bolt's authorize, its refresh taking the workspace's turn (see the module docstring)."""

    def __init__(self, tokens: WorkspaceTokens, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tokens = tokens

    async def _rotate_and_save_tokens_if_necessary(
        self, installation: Installation | None
    ) -> Installation | None:
        if installation is None or installation.bot_refresh_token is None:
            return None  # no user tokens are asked for, so none to refresh
        return await self.tokens.rotated(installation)


class TeamRoutedClient(SlackClient):
    """The room's client in OAuth mode: each call goes to the workspace it names (see
    `bot.slack_teams`) with that workspace's bot token, and each workspace's calls of a method
    queue apart, as Slack limits them."""

    def __init__(self, tokens: WorkspaceTokens, **kwargs: Any) -> None:
        super().__init__(token=None, **kwargs)
        self._tokens = tokens

    async def route(self, api_method: str, args: CallArgs) -> Hashable:
        team = route(args)
        token = await self._tokens.bot_token(team)
        if token is not None:
            args.params = {**(args.params or {}), "token": token}  # slack-sdk's per-call token
        return (team, api_method)


def oauth_credentials(settings: Settings) -> tuple[str, str, str]:
    """The app's client id and secret and SECRETS_KEY, or ConfigError naming what is missing."""
    client_id, client_secret = settings.slack_client_id, _secret(settings.slack_client_secret)
    keys = _secret(settings.secrets_key)
    if not client_id or client_secret is None:
        raise ConfigError("Slack OAuth needs both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET.")
    if keys is None:
        raise ConfigError(
            "Slack OAuth (SLACK_CLIENT_ID) needs SECRETS_KEY to seal the workspaces' tokens; "
            'make one with: python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())"'
        )
    return client_id, client_secret, keys


def workspace_tokens(
    settings: Settings, db: Database, app_client: AsyncWebClient
) -> WorkspaceTokens:
    """The installed workspaces' tokens, read from (and refreshed into) draftroom's storage: what
    a process that serves Slack, or only posts to it (`draftroom worker`), calls with."""
    client_id, client_secret, keys = oauth_credentials(settings)
    try:
        store = DraftroomInstallationStore(db, sealer(keys))
    except SealingKeyError as exc:
        raise ConfigError(str(exc)) from None
    rotator = AsyncTokenRotator(client_id=client_id, client_secret=client_secret, client=app_client)
    return WorkspaceTokens(store, rotator)


class SlackOAuth:
    """What the adapter builds in OAuth mode: the settings bolt's app takes, its authorize, the
    uninstall listeners and the room's client."""

    def __init__(self, settings: Settings, db: Database, app_client: AsyncWebClient) -> None:
        client_id, client_secret, _ = oauth_credentials(settings)
        self.tokens = workspace_tokens(settings, db, app_client)
        self.store = self.tokens.store
        self.on_installed: Callable[[str | None], Awaitable[None]] | None = None
        self.authorize = LockedRotationAuthorize(
            self.tokens,
            logger=log,
            installation_store=self.store,
            client_id=client_id,
            client_secret=client_secret,
            token_rotation_expiration_minutes=ROTATE_BEFORE_MIN,
            cache_enabled=True,  # auth.test once per token, not per request
            client=app_client,
        )
        base = (settings.public_base_url or "").rstrip("/")
        self.settings = AsyncOAuthSettings(
            client_id=client_id,
            client_secret=client_secret,
            scopes=list(BOT_SCOPES),
            user_scopes=[],
            redirect_uri=f"{base}{REDIRECT_PATH}" if base else None,
            install_path=INSTALL_PATH,
            install_page_rendering_enabled=False,  # straight to Slack's page
            redirect_uri_path=REDIRECT_PATH,
            callback_options=AsyncCallbackOptions(success=self._success, failure=_failure),
            authorization_url=settings.slack_oauth_url,
            installation_store=self.store,
            token_rotation_expiration_minutes=ROTATE_BEFORE_MIN,
            state_store=DraftroomStateStore(db, expiration_s=STATE_EXPIRATION_S),
            state_expiration_seconds=STATE_EXPIRATION_S,
            logger=log,
        )

    def room_client(self, **kwargs: Any) -> TeamRoutedClient:
        return TeamRoutedClient(self.tokens, **kwargs)

    def register_listeners(self, app: AsyncApp) -> None:
        app.event("app_uninstalled")(self._on_app_uninstalled)
        app.event("tokens_revoked")(self._on_tokens_revoked)

    async def _on_app_uninstalled(self, context: AsyncBoltContext) -> None:
        await self._forget(context)

    async def _on_tokens_revoked(self, event: dict[str, Any], context: AsyncBoltContext) -> None:
        tokens = event.get("tokens")
        if isinstance(tokens, dict) and tokens.get("bot"):  # a user's: none are kept
            await self._forget(context)

    async def _forget(self, context: AsyncBoltContext) -> None:
        team = None if context.is_enterprise_install else context.team_id
        await self.store.delete_workspace(context.enterprise_id, team)

    async def _success(self, args: AsyncSuccessArgs) -> BoltResponse:
        found = args.installation
        tenant = found.enterprise_id if found.is_enterprise_install else found.team_id
        name = found.team_name or found.enterprise_name or tenant or "your workspace"
        log.info("Slack: installed in %s", tenant)
        if self.on_installed is not None:
            await self.on_installed(tenant)
        text = (
            f"draftroom is installed in {name}. Invite it with /invite @draftroom, then /propose."
        )
        return _page(200, "draftroom is installed", text, args.settings)


async def _failure(args: AsyncFailureArgs) -> BoltResponse:
    log.warning("Slack: an install failed (%s)", args.reason)
    return _page(
        args.suggested_status_code,
        "draftroom was not installed",
        f"Slack did not finish the install ({args.reason}). Start again from {INSTALL_PATH}.",
        args.settings,
    )


def _page(status: int, title: str, text: str, settings: AsyncOAuthSettings) -> BoltResponse:
    """A short page; it drops the state cookie, whose state is spent either way."""
    body = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"</head><body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>"
    )
    headers = {
        "Content-Type": "text/html; charset=utf-8",
        "Set-Cookie": [settings.state_utils.build_set_cookie_for_deletion()],
    }
    return BoltResponse(status=status, body=body, headers=headers)
