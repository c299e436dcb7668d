"""Which Slack workspace a call of the room's is for, when draftroom is installed in several.

A channel id is unique only within its workspace: `C1` of one team and `C1` of another are two
channels. In OAuth mode the adapter therefore names a channel `T…/C…` (its team, then its id)
in everything it hands the core, which keeps it as one opaque string, and the room's client
(`bot.slack_oauth.TeamRoutedClient`) takes the team off again on the way out (`route`): the
call goes with that team's bot token and names the plain channel id. A call that names no
channel (an upload before its message, the Home tab, users.*) goes to the team of what it
serves (`serving`). A channel saved without a team (before OAuth was turned on) goes to the one
installed workspace, as it did.

An org-wide install (Enterprise Grid) is one installation for every workspace of the org, with
one token: its requests name the workspace they came from, but what draftroom keeps (the
token, the settings, the budget, the numbering) is the org's. So for such a request the "team"
above is the enterprise (`E…`, `tenant_of`): its channels are `E…/C…` (a channel id is unique
across an org) and its workspace is `slack:E…`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from slack_bolt.request.internals import (
    extract_enterprise_id,
    extract_is_enterprise_install,
    extract_team_id,
)

SEPARATOR = "/"
CHANNEL_KEYS = ("channel", "channel_id")
_serving: ContextVar[str | None] = ContextVar("draftroom_slack_team", default=None)


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


def tenant_of(payload: dict[str, Any]) -> str | None:
    """Whose installation a request is for: the enterprise's for an org-wide install, else the
    workspace's (as bolt reads them from a command, an event or an interaction)."""
    if extract_is_enterprise_install(payload):
        return extract_enterprise_id(payload)
    return extract_team_id(payload)


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


@dataclass
class CallArgs:
    """What a Web API call sends: its query parameters, JSON body and form body."""

    params: dict[str, Any] | None
    json: dict[str, Any] | None
    data: Any


def route(args: CallArgs) -> str | None:
    """Take the team off every channel the call names; the team they name, else the served one.
    The argument dicts are copied first: the caller's are not changed."""
    team = None
    args.params = dict(args.params or {})
    args.json = dict(args.json) if args.json is not None else None
    args.data = dict(args.data) if isinstance(args.data, dict) else args.data
    for sent in (args.params, args.json, args.data):
        if not isinstance(sent, dict):
            continue
        for key in CHANNEL_KEYS:
            value = sent.get(key)
            if isinstance(value, str):
                named, sent[key] = split(value)
                team = named or team
    return team or _serving.get()
