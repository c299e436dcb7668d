"""The fake Mastodon's error answers and rate-limit headers, in the shapes Mastodon (and the
nginx in front of it) send them."""

from __future__ import annotations

import time

from aiohttp import web

from tests.fakes.mastodon_entities import iso

RATE_LIMIT = 300  # requests per 5 minutes per token, Mastodon's default


def rate_headers(remaining: int, reset_in_s: float) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(RATE_LIMIT),
        "X-RateLimit-Remaining": str(max(0, remaining)),
        "X-RateLimit-Reset": iso(time.time() + reset_in_s),
    }


def server_error(status: int) -> web.Response:
    if status == 500:
        return web.json_response({"error": "We're sorry, but something went wrong"}, status=500)
    body = f"<html><body><h1>{status}</h1>nginx</body></html>"  # the proxy in front
    return web.Response(status=status, text=body, content_type="text/html")


def invalid(message: str) -> web.Response:
    """A model validation failure (422), as Rails words it."""
    return web.json_response({"error": f"Validation failed: {message}"}, status=422)


def unprocessable(message: str) -> web.Response:
    """A PostStatusService refusal (422) without the "Validation failed" prefix."""
    return web.json_response({"error": message}, status=422)
