"""X's answer shapes for the fake (tests/fakes/x_twitter_server.py): problem bodies, a post as
v2 renders it (t.co links, media links, escaped text), and the OAuth 1.0a signature check."""

from __future__ import annotations

import hashlib
import html
import re
from datetime import UTC, datetime
from typing import Any, Protocol

from aiohttp import web
from oauthlib.oauth1 import Client
from oauthlib.oauth1.rfc5849 import signature, utils

_TITLES = {
    400: "Invalid Request",
    401: "Unauthorized",
    403: "Forbidden",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
_URL = re.compile(r"https?://\S+")
_MAGIC = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}


class Credentials(Protocol):
    consumer_key: str
    consumer_secret: str
    access_token: str
    access_token_secret: str


def problem(
    status: int,
    *,
    detail: str | None = None,
    parameter: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """X's v2 error body: a problem (`title`, `detail`, `type`, `status`), or for a refused
    parameter the invalid-request shape with its `errors` list."""
    title = _TITLES.get(status, "Error")
    if status == 400:
        body: dict[str, Any] = {
            "errors": [{"parameters": {parameter or "body": []}, "message": detail or title}],
            "title": title,
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        }
    else:
        body = {"title": title, "detail": detail or title, "type": "about:blank", "status": status}
    return web.json_response(body, status=status, headers=headers)


def authorization_problem(request: web.Request, account: Credentials) -> web.Response | None:
    """401 unless the request carries a valid OAuth 1.0a HMAC-SHA1 signature by this app and
    account, computed over the URL the request was sent to."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("OAuth "):
        return problem(401)
    oauth = {k: utils.unescape(v) for k, v in utils.parse_authorization_header(header)}
    if (
        oauth.get("oauth_consumer_key") != account.consumer_key
        or oauth.get("oauth_token") != account.access_token
        or oauth.get("oauth_signature_method") != "HMAC-SHA1"
    ):
        return problem(401)
    params = signature.collect_parameters(
        uri_query=request.rel_url.raw_query_string, headers={"Authorization": header}
    )
    base = signature.signature_base_string(
        request.method,
        signature.base_string_uri(str(request.url)),
        signature.normalize_parameters(params),
    )
    signer = Client(
        account.consumer_key,
        client_secret=account.consumer_secret,
        resource_owner_key=account.access_token,
        resource_owner_secret=account.access_token_secret,
    )
    expected = signature.sign_hmac_sha1_with_client(base, signer)
    if expected != oauth.get("oauth_signature"):
        return problem(401)
    return None


def _short(seed: str) -> str:
    return "https://t.co/" + hashlib.sha256(seed.encode()).hexdigest()[:10]


def post_shape(
    post_id: str, text: str, media_ids: list[str], with_entities: bool
) -> dict[str, Any]:
    """A post as X v2 answers it: URLs shortened to t.co (entities.urls say what they were), a
    t.co link per post with media, and &, < and > escaped."""
    urls: list[dict[str, Any]] = []
    pieces: list[str] = []
    last = 0
    for n, match in enumerate(_URL.finditer(text)):
        pieces.append(html.escape(text[last : match.start()], quote=False))
        short = _short(f"{post_id}-{n}")
        start = len("".join(pieces))
        pieces.append(short)
        urls.append(
            {
                "start": start,
                "end": start + len(short),
                "url": short,
                "expanded_url": match.group(0),
                "display_url": match.group(0).split("//", 1)[1][:25],
            }
        )
        last = match.end()
    pieces.append(html.escape(text[last:], quote=False))
    rendered = "".join(pieces)
    if media_ids:
        short = _short(f"{post_id}-media")
        rendered = f"{rendered} {short}" if rendered else short
        urls.append(
            {
                "start": len(rendered) - len(short),
                "end": len(rendered),
                "url": short,
                "expanded_url": f"https://x.com/i/web/status/{post_id}/photo/1",
                "display_url": "pic.x.com/" + short[-10:],
                "media_key": f"3_{media_ids[0]}",
            }
        )
    shape: dict[str, Any] = {"id": post_id, "text": rendered, "edit_history_tweet_ids": [post_id]}
    if with_entities and urls:
        shape["entities"] = {"urls": urls}
    return shape


def created_at_text(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def media_problem(data: bytes, declared: str, max_bytes: int) -> str | None:
    """Why X's upload refuses these bytes, if it does."""
    magic = _MAGIC.get(declared)
    if magic is None:
        return f"media_type {declared or '(none)'} is not supported for tweet_image."
    if not data.startswith(magic) or (declared == "image/webp" and data[8:12] != b"WEBP"):
        return f"The media is not a valid {declared} file."
    if len(data) > max_bytes:
        return f"File size exceeds {max_bytes} bytes."
    return None
