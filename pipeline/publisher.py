"""Publishing an approved post: to an outbox folder by default, or to a signed webhook.

Both are idempotent on the post's key: publishing the same post again (after a crash between
publishing and recording it) rewrites the same bundle, or sends the same `Idempotency-Key`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx


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
        """Publish and return where it went (a folder or a URL)."""
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


class WebhookPublisher:
    """POSTs the bundle's JSON, signed: `X-Draftroom-Signature: sha256=<hex HMAC of the body>`."""

    name = "webhook"

    def __init__(self, url: str, secret: str, client: httpx.AsyncClient) -> None:
        self.url = url
        self._secret = secret.encode()
        self.client = client

    def sign(self, body: bytes) -> str:
        return "sha256=" + hmac.new(self._secret, body, hashlib.sha256).hexdigest()

    async def publish(self, bundle: Bundle) -> str:
        body = json.dumps(bundle.document(), ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": bundle.idempotency_key,
            "X-Draftroom-Signature": self.sign(body),
        }
        try:
            response = await self.client.post(self.url, content=body, headers=headers, timeout=30)
        except httpx.HTTPError as exc:
            raise PublishError(
                f"webhook unreachable: {type(exc).__name__}", retryable=True
            ) from exc
        if response.status_code >= 500 or response.status_code in (408, 429):
            raise PublishError(f"webhook answered {response.status_code}", retryable=True)
        if response.status_code >= 400:
            raise PublishError(
                f"webhook refused the post ({response.status_code}): {response.text[:200]}",
                retryable=False,
            )
        return self.url
