"""The fake Slack in a process of its own, with its OAuth side (teams, the authorize page,
oauth.v2.access) steered over a pipe: for benchmarks of a bot installed in many workspaces.

As in bench/fake_slack_process.py, the child serves the bot's Web API calls and OAuth grants,
so the timing client here shares its event loop with nothing of the bot's traffic. What the
benchmark needs to steer (who installs next, a short token lifetime) and to count (refresh
grants, answers, auth.test calls per token) goes over the pipe, one request and one answer.
"""

from __future__ import annotations

import asyncio
import json
from multiprocessing.connection import Connection
from typing import Any

from bench.fake_slack_process import FakeSlackChild
from bot.slack_oauth import INSTALL_PATH
from tests.fakes.slack import FakeSlack
from tests.slack_oauth_support import as_team, browser_at


def _counts(fake: FakeSlack, since: int) -> dict[str, Any]:
    """What reached the fake from call number `since` on."""
    calls = fake.calls[since:]
    ephemerals = [c for c in calls if c.method == "chat.postEphemeral"]
    auth_tests: dict[str, int] = {}
    for c in calls:
        if c.method == "auth.test" and c.token:
            auth_tests[c.token] = auth_tests.get(c.token, 0) + 1
    refreshes = [
        c.time
        for c in calls
        if c.method == "oauth.v2.access" and c.params.get("grant_type") == "refresh_token"
    ]
    return {
        "calls": len(fake.calls),
        "answer_attempts": len(ephemerals),
        "answers_accepted": sum(bool((c.response or {}).get("ok")) for c in ephemerals),
        "answers_refused": sorted({str((c.response or {}).get("error")) for c in ephemerals}),
        "auth_tests": auth_tests,
        "refresh_times": refreshes,
        "grants": {t.team_id: t.refresh_grants for t in fake.teams.values()},
        "refused": {t.team_id: t.refused_refreshes for t in fake.teams.values()},
        "tokens": {t.team_id: list(t.tokens) for t in fake.teams.values()},
    }


def _answer(fake: FakeSlack, request: tuple[Any, ...]) -> Any:
    match request:
        case ("oauth_app", client_id, client_secret, redirect_urls):
            fake.oauth_app(client_id, client_secret, redirect_urls)
        case ("add_teams", teams):
            for team_id, name in teams:
                fake.add_team(team_id, name)
        case ("installing", team_id, user_id):
            fake.installing(team_id, user_id)
        case ("next_lifetime", seconds):
            fake.next_lifetime(seconds)
        case ("counts", since):
            return _counts(fake, since)
        case _:
            raise ValueError(f"unknown request {request!r}")
    return None


def _serve(conn: Connection) -> None:
    async def main() -> None:
        async with FakeSlack() as fake:
            conn.send({"port": fake.port, "api_url": fake.api_url, "authorize": fake.authorize_url})
            while (request := await asyncio.to_thread(conn.recv)) != "stop":
                conn.send(_answer(fake, request))

    asyncio.run(main())


class FakeSlackOAuthProcess(FakeSlackChild):
    """The child, and the Slack side of this process: signed commands and events as a team,
    installs through a browser's session, and the requests over the pipe."""

    def __init__(self, signing_secret: str) -> None:
        super().__init__(signing_secret, _serve)

    @property
    def authorize_url(self) -> str:
        return str(self.started.get("authorize", ""))

    async def ask(self, *request: Any) -> Any:
        assert self._conn is not None
        self._conn.send(request)
        if not await asyncio.to_thread(self._conn.poll, 30):
            raise TimeoutError(f"the fake Slack process did not answer {request[0]!r}")
        return self._conn.recv()

    async def install(self, base: str, team_id: str, user_id: str = "UINSTALLER") -> None:
        """Install the bot at `base` in `team_id` through the real flow: /slack/install, Slack's
        authorize page, the bot's redirect (which exchanges the code)."""
        await self.ask("installing", team_id, user_id)
        async with browser_at(base) as browser, browser.get(base + INSTALL_PATH) as page:
            text = await page.text()
            if page.status != 200 or "is installed" not in text:
                raise RuntimeError(f"installing {team_id} answered {page.status}: {text[:300]}")

    async def command(
        self, url: str, team_id: str, command: str, *, user_id: str, channel_id: str
    ) -> tuple[int, float]:
        """POST one signed command from `team_id`; its HTTP status and the seconds to it."""
        payload = self.payloads.slash_command_payload(
            command, user_id=user_id, channel_id=channel_id
        )
        payload["team_id"] = team_id
        return await self.post_command(url, payload)

    async def uninstalled(self, url: str, team_id: str) -> int:
        """Slack's `app_uninstalled` event for `team_id`; the HTTP status of its delivery."""
        assert self._session is not None
        event = {"type": "app_uninstalled", "event_ts": self.payloads.next_ts()}
        body = json.dumps(as_team(self.payloads.event_callback(event), team_id))
        headers = self.signed(body, "application/json")
        async with self._session.post(url, data=body.encode(), headers=headers) as answer:
            await answer.read()
            return answer.status
