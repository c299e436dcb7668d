"""Which Slack workspace a call of the room's is for, when draftroom is installed in several.

A channel id is unique only within its workspace: `C1` of one team and `C1` of another are two
channels. In OAuth mode the adapter therefore names a channel `T…/C…` (its team, then its id)
in everything it hands the core, which keeps it as one opaque string, and `TeamRoutedClient`
takes the team off again on the way out: the call goes with that team's bot token and names the
plain channel id. A call that names no channel (an upload before its message, the Home tab,
users.*) goes to the team of what it serves (`serving`). A channel saved without a team (before
OAuth was turned on) goes to the one installed workspace, as it did.

Slack limits calls per method and per workspace, so each team's calls of a method queue apart.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

SEPARATOR = "/"
CHANNEL_KEYS = ("channel", "channel_id")
_serving: ContextVar[str | None] = ContextVar("draftroom_slack_team", default=None)

TokenOf = Callable[[str | None], Awaitable[str | None]]  # team (None: the sole one) -> token


def place(team: str | None, channel: str) -> str:
    """How the core names `channel` of `team` (plain without a team)."""
    return f"{team}{SEPARATOR}{channel}" if team else channel


Qualify = Callable[[str | None, str], str]  # (team, id) -> how the core names it


def plain(team: str | None, channel: str) -> str:
    """One workspace (SLACK_BOT_TOKEN): ids are unique as they are."""
    return channel


def split(where: str) -> tuple[str | None, str]:
    """(team, channel id) of a place; the team is None for a plain channel id."""
    team, sep, channel = where.partition(SEPARATOR)
    return (team, channel) if sep and team[:1] in ("T", "E") and channel else (None, where)


def team_of(where: str) -> str | None:
    return split(where)[0]


@contextmanager
def serving(team: str | None) -> Iterator[None]:
    """Calls naming no channel, made inside, go to `team`."""
    reset = _serving.set(team)
    try:
        yield
    finally:
        _serving.reset(reset)


def _route(*arg_sets: Any) -> str | None:
    """Take the team off every channel the call names; the team they name, else the served one."""
    team = None
    for args in arg_sets:
        if not isinstance(args, dict):
            continue
        for key in CHANNEL_KEYS:
            value = args.get(key)
            if isinstance(value, str):
                named, args[key] = split(value)
                team = named or team
    return team or _serving.get()


class TeamRoutedClient(AsyncWebClient):
    """The room's client in OAuth mode: each call with its team's token (module docstring)."""

    def __init__(self, token_of: TokenOf, **kwargs: Any) -> None:
        super().__init__(token=None, **kwargs)
        self._token_of = token_of
        self._method_locks: defaultdict[tuple[str | None, str], asyncio.Lock] = defaultdict(
            asyncio.Lock
        )

    async def api_call(
        self,
        api_method: str,
        *,
        http_verb: str = "POST",
        files: dict[str, Any] | None = None,
        data: Any = None,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
        auth: dict[str, Any] | None = None,
    ) -> AsyncSlackResponse:
        params, json = dict(params or {}), dict(json) if json is not None else None
        data = dict(data) if isinstance(data, dict) else data
        team = _route(params, json, data)
        token = await self._token_of(team)
        if token is not None:
            params["token"] = token  # slack-sdk sends a call's own token in place of the client's
        async with self._method_locks[(team, api_method)]:
            return await super().api_call(
                api_method,
                http_verb=http_verb,
                files=files,
                data=data,
                params=params,
                json=json,
                headers=headers,
                auth=auth,
            )
