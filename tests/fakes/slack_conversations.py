"""conversations.history and conversations.replies of the fake Slack (cursor pagination), of the
calling team's channels."""

from __future__ import annotations

import base64
from typing import Any

from tests.fakes.slack_http import ApiError
from tests.fakes.slack_recording import FakeMessage


def _truthy(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


class ConversationMethodsMixin:
    """History and replies with oldest/latest windows and cursors; mixed into ``FakeSlack``."""

    # Provided by FakeSlack.
    _messages: dict[tuple[str, str, str], FakeMessage]  # (team, channel, ts)
    _calling_team: str  # slack_workspaces

    def _page(self, items: list[FakeMessage], params: dict[str, Any], limit: int) -> dict[str, Any]:
        offset = 0
        if params.get("cursor"):
            offset = int(base64.b64decode(str(params["cursor"])).decode().split(":")[1])
        limit = int(params.get("limit") or limit) or limit
        meta = _truthy(params.get("include_all_metadata"))
        page = items[offset : offset + limit]
        more = offset + limit < len(items)
        cursor = base64.b64encode(f"next:{offset + limit}".encode()).decode() if more else ""
        return {
            "messages": [self._render(m, metadata=meta) for m in page],
            "has_more": more,
            "response_metadata": {"next_cursor": cursor},
        }

    def _window(self, items: list[FakeMessage], params: dict[str, Any]) -> list[FakeMessage]:
        oldest, latest = float(params.get("oldest") or 0), params.get("latest")
        inclusive = _truthy(params.get("inclusive"))

        def inside(m: FakeMessage) -> bool:
            t = float(m.ts)
            low = t >= oldest if inclusive else t > oldest
            return low and (
                latest is None or (t <= float(latest) if inclusive else t < float(latest))
            )

        return [m for m in items if inside(m)]

    def _history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        top = [m for m in self.messages(channel, team=self._calling_team) if not m.is_reply]
        return self._page(self._window(top, params)[::-1], params, 100)

    def _replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        team = self._calling_team
        msg = self._messages.get((team, channel, str(params.get("ts"))))
        if msg is None or msg.deleted:
            raise ApiError("thread_not_found")
        thread = [msg] if msg.is_reply else [msg, *self.messages(channel, msg.ts, team=team)]
        return self._page(self._window(thread, params), params, 1000)
