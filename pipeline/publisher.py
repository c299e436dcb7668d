"""Publishing an approved post: to an outbox folder by default, or to a signed webhook.

Both are idempotent on the post's key: publishing the same post again (after a crash between
publishing and recording it) rewrites the same bundle, or sends the same `Idempotency-Key`.

A webhook URL is a credential (a secret path, a `?token=`): it never leaves the publisher. What
`publish` returns is shown in chat and stored, so for a webhook it is the host alone, and error
messages name the host too.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

import httpx

REDACTED = "[redacted]"


class PublishError(Exception):
    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class Bundle:
    post_id: int
    idempotency_key: str
    fields: dict[str, Any]
    media: list[Path] = field(default_factory=list)

    def document(self) -> dict[str, Any]:
        return {
            **self.fields,
            "idempotency_key": self.idempotency_key,
            "media": [p.name for p in self.media],
        }


class Publisher(Protocol):
    name: str

    async def publish(self, bundle: Bundle) -> str:
        """Publish and return where it went, fit to show in chat (a folder, a webhook's host)."""
        ...


class OutboxPublisher:
    name = "outbox"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def publish(self, bundle: Bundle) -> str:
        target = self.folder / f"post-{bundle.post_id}"
        staging = self.folder / f".post-{bundle.post_id}.{os.getpid()}.tmp"
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir(parents=True)
        for path in bundle.media:
            shutil.copyfile(path, staging / path.name)
        (staging / "post.json").write_text(
            json.dumps(bundle.document(), indent=2, ensure_ascii=False), encoding="utf-8"
        )
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
        return str(target)


def secret_parts(url: str) -> list[str]:
    """Every piece of a webhook URL that may carry its credential, in the forms it may appear in
    (as written, and as httpx writes it in log lines and errors), longest first. Pieces shorter
    than six characters are left out: replacing them would garble text more than it hides."""
    split = urlsplit(url)
    parts = {url, url.split("#", 1)[0], split._replace(query="", fragment="").geturl()}
    parts.update((split.path, split.query, split.netloc.rpartition("@")[0], split.password or ""))
    parts.update(raw.partition("=")[2] for raw in split.query.split("&"))
    parts.update(value for _, value in parse_qsl(split.query))
    with contextlib.suppress(httpx.InvalidURL, UnicodeDecodeError):
        written = httpx.URL(url)
        target = written.raw_path.decode("ascii")
        parts.update((str(written), target, target.split("?", 1)[0]))
    return sorted((p for p in parts if len(p.strip("/")) >= 6), key=len, reverse=True)


class WebhookPublisher:
    """POSTs the bundle's JSON, signed: `X-Draftroom-Signature: sha256=<hex HMAC of the body>`."""

    name = "webhook"

    def __init__(self, url: str, secret: str, client: httpx.AsyncClient) -> None:
        split = urlsplit(url)
        if split.scheme not in ("http", "https") or not split.hostname:
            raise ValueError("is not an http:// or https:// URL with a host")
        self._url = url
        self._hidden = secret_parts(url)
        self.host = split.hostname
        self._secret = secret.encode()
        self.client = client

    def sign(self, body: bytes) -> str:
        return "sha256=" + hmac.new(self._secret, body, hashlib.sha256).hexdigest()

    def redact(self, text: str) -> str:
        """`text` without any piece of the URL but its host (a receiver may echo the URL)."""
        for part in self._hidden:
            text = text.replace(part, REDACTED)
        return text

    async def publish(self, bundle: Bundle) -> str:
        body = json.dumps(bundle.document(), ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": bundle.idempotency_key,
            "X-Draftroom-Signature": self.sign(body),
        }
        try:
            response = await self.client.post(self._url, content=body, headers=headers, timeout=30)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            # Not chained: httpx's exceptions carry the request, URL and all.
            raise PublishError(
                f"webhook at {self.host} unreachable: {type(exc).__name__}", retryable=True
            ) from None
        if response.status_code >= 500 or response.status_code in (408, 429):
            raise PublishError(
                f"webhook at {self.host} answered {response.status_code}", retryable=True
            )
        if response.status_code >= 400:
            said = " ".join(self.redact(response.text).split())[:200]
            raise PublishError(
                f"webhook at {self.host} refused the post ({response.status_code}): {said}",
                retryable=False,
            )
        return self.host
