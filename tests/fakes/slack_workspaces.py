"""Workspaces in the fake Slack: which team a call is for, and each team's channels.

Slack's channel ids, message ts and user ids are unique only within a workspace, so the fake
keeps channels, their members, messages, reactions and uploaded files per team. A Web API call's
team is the team of its token: an OAuth token the fake issued (`team_of`) belongs to its team;
the single-token mode's bot token, and any token the fake does not know, belong to the default
team (`FakeSlack(team_id=...)`, "T0001"), so a test that never installs a team sees one
workspace as before. The plumbing sets `_calling_team` just before a method's handler runs
(with no await between, as `_answering_token` is), and the handlers read and write that team's
state only: a channel or ts of another team is unknown there (`channel_not_found`,
`message_not_found`).

Test controls that change state (`create_channel`, `invite_bot`, `add_member`,
`remove_member`) act on the default team unless given `team=`; queries (`bot_is_member`, and
`messages()`, `message()`, `reactions_on()` in `slack_recording`) span every team unless given
`team=`. A team's bot is the user `add_team` gave it (by default the fake's `bot_user_id`).

Not kept per team (yet): users declared with `add_user`, home views and open modals (by user),
trigger_ids.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.fakes.slack_http import ApiError
from tests.fakes.slack_oauth import FakeTeam


class WorkspacesMixin:
    """The calling team and each team's channels; mixed into ``FakeSlack``."""

    # Provided by FakeSlack.
    team_id: str
    bot_user_id: str
    bot_id: str
    strict_channels: bool
    scopes: frozenset[str]
    teams: dict[str, FakeTeam]
    team_of: Callable[[str | None], str | None]  # slack_oauth: the team of a token it issued

    def _setup_workspaces(self) -> None:
        """Called by FakeSlack.__init__."""
        # team -> channel id -> {"name", "members", "is_private"}
        self._channels: dict[str, dict[str, dict[str, Any]]] = {}
        self._calling_team = self.team_id

    # ------------------------------------------------------------------ teams

    def team_of_call(self, token: str | None) -> str:
        """The team a call made with `token` acts in (the default team unless OAuth issued it)."""
        return self.team_of(token) or self.team_id

    def bot_user_of(self, team: str | None = None) -> str:
        found = self.teams.get(team or self.team_id)
        return found.bot_user_id if found is not None else self.bot_user_id

    def bot_id_of(self, team: str | None = None) -> str:
        found = self.teams.get(team or self.team_id)
        return found.bot_id if found is not None else self.bot_id

    def _channels_of(self, team: str) -> dict[str, dict[str, Any]]:
        return self._channels.setdefault(team, {})

    # ------------------------------------------------------------------ test controls

    def create_channel(
        self,
        channel: str,
        name: str | None = None,
        *,
        member: bool = True,
        is_private: bool = False,
        team: str | None = None,
    ) -> None:
        """Declare a channel of `team` (the default team); `member`: the bot is in it."""
        team = team or self.team_id
        self._channels_of(team)[channel] = {
            "name": name or channel.lower(),
            "members": {self.bot_user_of(team)} if member else set(),
            "is_private": is_private,
        }

    def invite_bot(self, channel: str, *, team: str | None = None) -> None:
        """What `/invite @draftroom` does in that channel."""
        team = team or self.team_id
        self._channels_of(team)[channel]["members"].add(self.bot_user_of(team))

    def bot_is_member(self, channel: str, *, team: str | None = None) -> bool:
        """Whether the bot is in `channel` of `team` (without `team`: of any team)."""
        teams = [team] if team else list(self._channels)
        for each in teams:
            info = self._channels.get(each, {}).get(channel)
            if info is not None and self.bot_user_of(each) in info["members"]:
                return True
        return False

    def add_member(self, channel: str, user: str, *, team: str | None = None) -> None:
        """`user` joins `channel` (declared as Slack would have it if it was not: the bot in
        it, private if its id starts with G)."""
        team = team or self.team_id
        if channel not in self._channels_of(team):
            self.create_channel(channel, is_private=channel.startswith("G"), team=team)
        self._channels_of(team)[channel]["members"].add(user)

    def remove_member(self, channel: str, user: str, *, team: str | None = None) -> None:
        """`user` leaves `channel` (the bot too, as when it is removed with /kick)."""
        self._channels_of(team or self.team_id)[channel]["members"].discard(user)

    # ------------------------------------------------------------------ in a method's handler

    def _channel(self, params: dict[str, Any], key: str = "channel", *, post: bool = False) -> str:
        """The channel of the calling team the call names, if the bot may act there. `post`:
        chat.postMessage, which `chat:write.public` lets into public channels the bot has not
        joined."""
        team = self._calling_team
        channels = self._channels_of(team)
        cid = str(params.get(key) or "")
        if cid.startswith("#"):
            cid = next((c for c, v in channels.items() if v["name"] == cid[1:]), cid)
        if cid not in channels:
            if self.strict_channels or cid[:1] not in ("C", "G", "D"):
                raise ApiError("channel_not_found")
            self.create_channel(cid, is_private=cid.startswith("G"), team=team)
        info = channels[cid]
        if self.bot_user_of(team) not in info["members"]:
            if info["is_private"]:
                raise ApiError("channel_not_found")  # invisible to non-members
            if not (post and "chat:write.public" in self.scopes):
                raise ApiError("not_in_channel")
        return cid
