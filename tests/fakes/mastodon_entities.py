"""The fake Mastodon's entities in the API's shapes (Account, Status, MediaAttachment, Instance),
its character counting (StatusLengthValidator: grapheme clusters, a URL counts 23, `@user@domain`
counts `@user`)
and its plain text to HTML (paragraphs, <br />, links with Mastodon's shortening spans)."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import Any

import regex

URL = re.compile(r"https?://(?:[\w-]+\.)+[a-z]{2,}(?:[/?#][^\s<>\"]*[^\s<>\".,;:!?)'])?", re.I)
MENTION = re.compile(r"(?<![=/\w])@(\w+)@[\w.-]+\w", re.I)

VERSION = "4.3.0"
MEDIA_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "video/mp4")


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def countable_length(text: str, url_chars: int) -> int:
    return len(regex.findall(r"\X", MENTION.sub(r"@\1", URL.sub("x" * url_chars, text))))


def status_html(text: str) -> str:
    paragraphs = [p for p in re.split(r"\n{2,}", text.strip()) if p]
    return "".join(
        f"<p>{'<br />'.join(_linked(line) for line in p.split(chr(10)))}</p>" for p in paragraphs
    )


def _linked(line: str) -> str:
    out, position = [], 0
    for match in URL.finditer(line):
        out.append(_mentions(line[position : match.start()]))
        url = match.group(0)
        scheme, rest = url.split("://", 1)
        out.append(
            f'<a href="{html.escape(url)}" rel="nofollow noopener" target="_blank">'
            f'<span class="invisible">{scheme}://</span>'
            f'<span class="ellipsis">{html.escape(rest[:30])}</span>'
            f'<span class="invisible">{html.escape(rest[30:])}</span></a>'
        )
        position = match.end()
    out.append(_mentions(line[position:]))
    return "".join(out)


def _mentions(text: str) -> str:
    """A mention shows only its username, as Mastodon renders it; the domain is in the link."""
    return re.sub(
        r"(?<![=/\w])@(\w+)(?:@[\w.-]+\w)?",
        r'<span class="h-card"><a class="u-url mention">@<span>\1</span></a></span>',
        html.escape(text),
    )


def account(base: str, account_id: str, username: str, statuses: int) -> dict[str, Any]:
    return {
        "id": account_id,
        "username": username,
        "acct": username,
        "display_name": username.title(),
        "locked": False,
        "bot": True,
        "created_at": "2024-01-01T00:00:00.000Z",
        "note": "",
        "url": f"{base}/@{username}",
        "avatar": f"{base}/avatars/original/missing.png",
        "header": f"{base}/headers/original/missing.png",
        "followers_count": 0,
        "following_count": 0,
        "statuses_count": statuses,
        "emojis": [],
        "fields": [],
    }


def media_entity(
    base: str, media_id: str, kind: str, description: str, ready: bool
) -> dict[str, Any]:
    url = f"{base}/system/media_attachments/files/{media_id}/original" if ready else None
    return {
        "id": media_id,
        "type": kind,
        "url": url,
        "preview_url": url,
        "remote_url": None,
        "text_url": None,
        "meta": {},
        "description": description or None,
        "blurhash": None,
    }


def instance_v1(base: str, domain: str) -> dict[str, Any]:
    return {
        "uri": domain,
        "title": "Fake Mastodon",
        "short_description": "",
        "description": "",
        "email": "admin@example.invalid",
        "version": VERSION,
        "urls": {"streaming_api": base.replace("http", "ws", 1)},
        "stats": {"user_count": 1, "status_count": 0, "domain_count": 1},
        "languages": ["en"],
        "registrations": False,
        "approval_required": False,
        "invites_enabled": False,
    }


def instance_v2(domain: str, configuration: dict[str, Any]) -> dict[str, Any]:
    return {
        "domain": domain,
        "title": "Fake Mastodon",
        "version": VERSION,
        "source_url": "https://github.com/mastodon/mastodon",
        "description": "",
        "usage": {"users": {"active_month": 1}},
        "api_versions": {"mastodon": 2},
        "languages": ["en"],
        "configuration": configuration,
        "registrations": {"enabled": False, "approval_required": False, "message": None},
        "contact": {"email": "admin@example.invalid", "account": None},
        "rules": [],
    }
