"""Shared links to the web pages: a signed token in the URL names a `shares` row, and the row
decides (what it opens, in which channel's scope, until when, whether it was revoked).

Cards carry links made for the channel they are posted in, so a link only ever opens what that
channel may see (a post lives in one channel: see storage.models.Place). A card shown again in
the same channel reuses its link while it has more than half its life left, so editing a card
does not make a row per edit.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

from handlers.cards import when
from handlers.ports import Link
from storage import shares
from storage.db import Database
from storage.models import Place, Share

# A settings link's place is (platform, workspace): it opens that workspace's settings page.
PATHS = {
    "post": "/p/{}",
    "plan": "/plans/{}",
    "run": "/runs/{}",
    "library": "/posts",
    "settings": "/settings",
}
KEY_NAME = "link_signing_key"
SALT = "draftroom-share"

LINKS_OFF = "Shared links are turned off on this draftroom (SHARED_LINKS=false)."
NOT_VALID = "This link is not valid: it may be cut short or changed. Ask for the link again."
EXPIRED = "This link has expired. Open the card in chat again for a fresh link."


class LinkRefusedError(Exception):
    """A link that opens nothing; the message is what its 403 page says."""


@dataclass(frozen=True)
class Grant:
    """What an opened link lets its holder read: its own thing, and what that thing's page links
    to, within the channel the link was made for."""

    share: Share
    token: str

    @property
    def place(self) -> Place:
        return self.share.place

    def opens(
        self,
        kind: str,
        target: int | None,
        *,
        plan_id: int | None = None,
        run_id: int | None = None,
    ) -> bool:
        """Whether this link opens `kind` `target` (whose plan and run are given for posts and
        runs); the caller has checked that the thing lives in `place`."""
        share = self.share
        if share.kind == "library":
            return True
        if share.kind == kind and share.target == target:
            return True
        if share.kind == "plan" and kind in ("post", "run"):
            return plan_id == share.target
        return share.kind == "run" and kind == "post" and run_id == share.target


class ShareLinks:
    def __init__(
        self,
        db: Database,
        *,
        enabled: bool,
        ttl_s: float,
        clock: Callable[[], float],
        key: str | None = None,
        base_url: str | None = None,
    ) -> None:
        self.db = db
        self.enabled = enabled
        self.ttl_s = ttl_s
        self.clock = clock
        self._key = key
        self._base_url = base_url.rstrip("/") if base_url else None
        self._serializer: URLSafeSerializer | None = None
        self._made: dict[tuple[str, int | None, Place], tuple[Share, str]] = {}

    @property
    def base_url(self) -> str | None:
        return self._base_url

    def serving_at(self, url: str) -> None:
        """Where the pages are served, once the server has bound (unless PUBLIC_BASE_URL set
        it: the bot cannot know the host others reach it by)."""
        if self._base_url is None:
            self._base_url = url.rstrip("/")

    async def link(
        self, kind: str, target: int | None, place: Place, *, label: str, made_by: str
    ) -> Link | None:
        """A link to the page of `kind` `target` for people in `place`, or None when links are
        off or no page is served."""
        if not self.enabled or self._base_url is None:
            return None
        now = self.clock()
        cached = self._made.get((kind, target, place))
        if cached is not None and cached[0].expires_at > now + self.ttl_s / 2:
            return Link(label, cached[1])
        async with self.db.transaction() as conn:
            share = await shares.reusable_share(
                conn, kind=kind, target=target, place=place, valid_until=now + self.ttl_s / 2
            )
            if share is None:
                share = await shares.create_share(
                    conn,
                    kind=kind,
                    target=target,
                    place=place,
                    made_by=made_by,
                    now=now,
                    expires_at=now + self.ttl_s,
                )
        serializer = await self._signer()
        url = self.url(share, serializer.dumps([share.id, int(share.expires_at)]))
        self._made[(kind, target, place)] = (share, url)
        return Link(label, url)

    def url(self, share: Share, token: str, path: str | None = None, *, full: bool = True) -> str:
        """The link's URL, or another page's under the same token; `full=False` leaves out the
        base, for links inside the pages (same origin, whatever host the reader came by)."""
        path = path or PATHS[share.kind].format(share.target)
        base = self._base_url or "" if full else ""
        return f"{base}{path}?t={token}"

    async def open(self, token: str) -> Grant:
        """The grant a token carries; `LinkRefusedError` with what to tell its holder otherwise."""
        if not self.enabled:
            raise LinkRefusedError(LINKS_OFF)
        serializer = await self._signer()
        try:
            share_id, expires = serializer.loads(token)
        except (BadSignature, ValueError, TypeError):
            raise LinkRefusedError(NOT_VALID) from None
        share = await shares.get_share(self.db.reader, int(share_id))
        if share is None:
            raise LinkRefusedError(NOT_VALID)
        if share.revoked_at is not None:
            raise LinkRefusedError(f"This link was revoked on {when(share.revoked_at)}.")
        if min(float(expires), share.expires_at) <= self.clock():
            raise LinkRefusedError(EXPIRED)
        return Grant(share, token)

    async def revoke(self, share_id: int, *, by: str) -> bool:
        async with self.db.transaction() as conn:
            done = await shares.revoke_share(conn, share_id, by=by, now=self.clock())
        for key, (share, _) in list(self._made.items()):
            if share.id == share_id:
                del self._made[key]
        return done

    async def share_id_in(self, text: str) -> int | None:
        """The share a pasted link (or its token) names, if its signature holds."""
        token = text.rsplit("t=", 1)[-1].split("&", 1)[0].strip()
        serializer = await self._signer()
        try:
            share_id, _ = serializer.loads(token)
        except (BadSignature, ValueError, TypeError):
            return None
        return int(share_id)

    async def _signer(self) -> URLSafeSerializer:
        if self._serializer is None:
            key = self._key
            if key is None:
                async with self.db.transaction() as conn:
                    key = await shares.kept_secret(
                        conn, KEY_NAME, secrets.token_urlsafe(32), now=self.clock()
                    )
            self._serializer = URLSafeSerializer(key, salt=SALT)
        return self._serializer
