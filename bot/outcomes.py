"""What the person who asked reads when core work ends: the same rule on every platform.

Each adapter calls `outcome` in the one place where it answers, and only chooses how to show
the result (an ephemeral message, a follow-up, a line in a thread). A refusal reads as the
core's `refusal_text`; a failure of ours as `SOMETHING_WENT_WRONG`, with the traceback in the
log and never in chat.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from handlers.ports import SOMETHING_WENT_WRONG, Reply, UserError, refusal_text


def _no_platform_refusals(exc: Exception) -> str | None:
    return None


async def outcome(
    work: Awaitable[Reply | None],
    what: str,
    log: logging.Logger,
    *,
    platform_refusal: Callable[[Exception], str | None] = _no_platform_refusals,
) -> Reply | str | None:
    """The reply, one line of text saying what went wrong, or None when there is nothing to say.

    `platform_refusal` names the platform's own refusals that the person can act on (Slack's
    "not in this channel"); those are logged as a warning, not as a failure."""
    try:
        return await work
    except UserError as exc:
        return refusal_text(exc)
    except Exception as exc:
        refused = platform_refusal(exc)
        if refused is not None:
            log.warning("%s was refused by the platform: %s", what, exc)
            return refused
        log.exception("%s failed", what)
        return SOMETHING_WENT_WRONG
