"""The fake Slack's side of OAuth v2 install and token rotation, mixed into ``FakeSlack``.

- Teams: `add_team(team_id, name)`; `installing(team_id, user_id)` picks who installs next.
  `add_team("E…", name, org=True)` is an Enterprise Grid org installed org-wide: its grant has
  `team: null`, `enterprise: {id, name}` and `is_enterprise_install: true`, its token serves
  every workspace of the org (the fake keeps the org's channels under the org's id), and its
  auth.test names the enterprise.
- The app's credentials and redirect URLs: `oauth_app(client_id, client_secret, redirect_urls)`.
- `GET /oauth/v2/authorize?client_id&scope&state[&redirect_uri]` answers 302 to the redirect
  URL with `code` and `state` (the first configured URL when the request names none; one not
  configured is refused with 400, as Slack's page shows `bad_redirect_uri`).
- `POST /api/oauth.v2.access`: client id and secret by HTTP Basic or form fields. Grant a code
  (once, `redirect_uri` as sent to the authorize page) or `grant_type=refresh_token` (a refresh
  token is spent once: a second use is `invalid_refresh_token`). Each grant issues a bot token
  `xoxe.xoxb-…` expiring in `token_lifetime_s` (or what `next_lifetime` says, once) and a new
  refresh token `xoxe-1-…`; the answer has Slack's shape (`access_token`, `token_type: bot`,
  `scope`, `bot_user_id`, `app_id`, `team`, `enterprise`, `authed_user`, `refresh_token`,
  `expires_in`). A token refreshed away keeps working until it expires, as Slack's do.
- Issued tokens are accepted by every Web API method; an expired one answers `token_expired`;
  auth.test answers the token's team. Counted per team: `refresh_grants`, `refused_refreshes`.
"""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from tests.fakes.slack_http import ApiError
from tests.fakes.slack_recording import Call

TOKEN_LIFETIME_S = 43_200  # Slack's: 12 hours


@dataclass
class FakeTeam:
    team_id: str
    name: str
    bot_user_id: str
    bot_id: str
    refresh_grants: int = 0
    refused_refreshes: int = 0
    tokens: list[str] = field(default_factory=list)  # every bot token issued, oldest first
    org: bool = False  # an Enterprise Grid org, installed org-wide


@dataclass
class _Issued:
    team_id: str
    expires_at: float


@dataclass
class _Code:
    team_id: str
    installer: str
    redirect_uri: str | None
    scope: str
    used: bool = False


class OAuthMixin:
    """OAuth v2 install and token rotation; mixed into ``FakeSlack`` before the plumbing."""

    # Provided by FakeSlack.
    app_id: str
    bot_user_id: str
    bot_id: str
    port: int
    calls: list[Call]

    def _setup_oauth(self) -> None:
        self.teams: dict[str, FakeTeam] = {}
        self.client_id, self.client_secret = "1111.2222", "fake-client-secret"
        self.redirect_urls: list[str] = []
        self.token_lifetime_s: float = TOKEN_LIFETIME_S
        self._next_lifetimes: list[float] = []
        self._installing: tuple[str, str] | None = None
        self._codes: dict[str, _Code] = {}
        self._issued: dict[str, _Issued] = {}
        self._refresh_tokens: dict[str, tuple[str, bool]] = {}  # token -> (team, spent)
        self._answering_token: str | None = None

    def add_oauth_routes(self, app: web.Application) -> None:
        """Before the generic Web API route: oauth.v2.access authenticates the app, not a bot."""
        app.router.add_get("/oauth/v2/authorize", self._handle_authorize)
        app.router.add_post("/api/oauth.v2.access", self._handle_oauth_access)

    # ------------------------------------------------------------------ test controls

    @property
    def authorize_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/oauth/v2/authorize"

    def oauth_app(
        self, client_id: str, client_secret: str, redirect_urls: list[str] | None = None
    ) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        if redirect_urls is not None:
            self.redirect_urls = list(redirect_urls)

    def add_team(
        self, team_id: str, name: str, *, bot_user_id: str | None = None, org: bool = False
    ) -> FakeTeam:
        """A workspace (or, `org`, an org) that can install the app; its bot's ids default to
        the fake's own."""
        team = FakeTeam(team_id, name, bot_user_id or self.bot_user_id, self.bot_id, org=org)
        self.teams[team_id] = team
        return team

    def installing(self, team_id: str, user_id: str = "UINSTALLER") -> None:
        """Who is signed in on the authorize page: the next install is into this team."""
        self._installing = (team_id, user_id)

    def next_lifetime(self, seconds: float) -> None:
        """The next token issued expires in `seconds` (then `token_lifetime_s` again)."""
        self._next_lifetimes.append(seconds)

    def team_of(self, token: str | None) -> str | None:
        issued = self._issued.get(token or "")
        return issued.team_id if issued else None

    def expire_tokens(self, team_id: str) -> None:
        """Every token of the team expires now."""
        for issued in self._issued.values():
            if issued.team_id == team_id:
                issued.expires_at = time.time()

    # ------------------------------------------------------------------ the authorize page

    async def _handle_authorize(self, request: web.Request) -> web.Response:
        query = request.query
        self.calls.append(Call("oauth/v2/authorize", dict(query), time.monotonic(), None))
        if query.get("client_id") != self.client_id:
            return web.Response(status=400, text="invalid_client_id")
        asked = query.get("redirect_uri")
        if asked is not None and asked not in self.redirect_urls:
            return web.Response(status=400, text="bad_redirect_uri")
        target = asked or (self.redirect_urls[0] if self.redirect_urls else None)
        if target is None or self._installing is None:
            return web.Response(status=400, text="no redirect URL or no team to install")
        team_id, installer = self._installing
        code = f"code-{secrets.token_hex(8)}"
        self._codes[code] = _Code(team_id, installer, asked, query.get("scope", ""))
        where = {"code": code, "state": query.get("state", "")}
        raise web.HTTPFound(f"{target}?{urlencode(where)}")

    # ------------------------------------------------------------------ oauth.v2.access

    async def _handle_oauth_access(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(auth[6:]).decode().partition(":")
        call = Call("oauth.v2.access", form, time.monotonic(), None)
        self.calls.append(call)
        call.response = self._oauth_access(form, client_id, client_secret)
        return web.json_response(call.response)

    def _oauth_access(
        self, form: dict[str, str], client_id: str | None, client_secret: str | None
    ) -> dict[str, Any]:
        if client_id != self.client_id:
            return {"ok": False, "error": "invalid_client_id"}
        if client_secret != self.client_secret:
            return {"ok": False, "error": "bad_client_secret"}
        grant = form.get("grant_type", "authorization_code")
        if grant == "refresh_token":
            return self._refresh(form.get("refresh_token", ""))
        if grant != "authorization_code":
            return {"ok": False, "error": "invalid_grant_type"}
        code = self._codes.get(form.get("code", ""))
        if code is None or code.used:
            return {"ok": False, "error": "invalid_code"}
        if form.get("redirect_uri") != code.redirect_uri:
            return {"ok": False, "error": "bad_redirect_uri"}
        code.used = True
        return {**self._grant(code.team_id, code.scope), "authed_user": {"id": code.installer}}

    def _refresh(self, refresh_token: str) -> dict[str, Any]:
        team_id, spent = self._refresh_tokens.get(refresh_token, ("", True))
        if spent:
            if team_id in self.teams:
                self.teams[team_id].refused_refreshes += 1
            return {"ok": False, "error": "invalid_refresh_token"}
        self._refresh_tokens[refresh_token] = (team_id, True)
        self.teams[team_id].refresh_grants += 1
        return self._grant(team_id, self._scope)

    @property
    def _scope(self) -> str:
        return ",".join(sorted(getattr(self, "scopes", ())))

    def _grant(self, team_id: str, scope: str) -> dict[str, Any]:
        team = self.teams[team_id]
        lifetime = self._next_lifetimes.pop(0) if self._next_lifetimes else self.token_lifetime_s
        token = f"xoxe.xoxb-1-{secrets.token_hex(12)}"
        refresh = f"xoxe-1-{secrets.token_hex(16)}"
        self._issued[token] = _Issued(team_id, time.time() + lifetime)
        self._refresh_tokens[refresh] = (team_id, False)
        team.tokens.append(token)
        return {
            "ok": True,
            "app_id": self.app_id,
            "scope": scope or self._scope,
            "token_type": "bot",
            "access_token": token,
            "bot_user_id": team.bot_user_id,
            "refresh_token": refresh,
            "expires_in": int(lifetime),
            "team": None if team.org else {"id": team.team_id, "name": team.name},
            "enterprise": {"id": team.team_id, "name": team.name} if team.org else None,
            "is_enterprise_install": team.org,
        }

    # ------------------------------------------------------------------ hooks in the plumbing

    def _check_token(self, method: str, token: str | None) -> None:
        issued = self._issued.get(token or "")
        if issued is None:
            self._answering_token = None
            super()._check_token(method, token)  # type: ignore[misc]
            return
        if issued.expires_at <= time.time():
            raise ApiError("token_expired")
        self._answering_token = token  # the method's handler runs next, with no await between

    def _auth_test_of_token(self, answer: dict[str, Any]) -> dict[str, Any]:
        team = self.teams.get(self.team_of(self._answering_token) or "")
        if team is None:
            return answer
        return {
            **answer,
            "team": team.name,
            "team_id": team.team_id,
            "user_id": team.bot_user_id,
            "bot_id": team.bot_id,
            "url": f"https://{team.team_id.lower()}.fake.slack.com/",
            **({"enterprise_id": team.team_id, "is_enterprise_install": True} if team.org else {}),
        }
