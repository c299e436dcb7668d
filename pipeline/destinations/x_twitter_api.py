"""The blocking calls to X's API v2, through tweepy (run them in a thread).

tweepy.Client builds every URL as "https://api.twitter.com" + route. `_ApiHostSession`, the
`requests.Session` the client is given, swaps that host for the configured API base URL (the
real X, or a fake in tests) before the request is prepared, so OAuth 1.0a signs the URL that is
actually sent; a transport adapter would rewrite it after signing and break the signature. The
same session gives every request its timeouts (tweepy sets none).

tweepy has no v2 media upload (tweepy #2217): `upload_image` posts to /2/media/upload itself,
signed by the same OAuth 1.0a user context.
"""

from __future__ import annotations

import html
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests
import tweepy
from requests_oauthlib import OAuth1

TWEEPY_HOST = "https://api.twitter.com"
DUPLICATE_CONTENT = "duplicate content"  # in X's 403 for a text the account already posted


@dataclass(frozen=True)
class Account:
    id: str
    username: str


@dataclass(frozen=True)
class Posted:
    id: str
    text: str  # as it was written: t.co links expanded, media links dropped, entities unescaped


class _ApiHostSession(requests.Session):
    def __init__(self, api_url: str, timeout: tuple[float, float]) -> None:
        super().__init__()
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout

    def request(self, method: str, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        if isinstance(url, str) and url.startswith(TWEEPY_HOST):
            url = self.api_url + url[len(TWEEPY_HOST) :]
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, *args, **kwargs)


_ERRORS_BY_STATUS: dict[int, Any] = {
    400: tweepy.errors.BadRequest,
    401: tweepy.errors.Unauthorized,
    403: tweepy.errors.Forbidden,
    404: tweepy.errors.NotFound,
}


def _raise_for(response: requests.Response) -> None:
    """The exception tweepy would raise for this response, so raw calls fail like SDK ones."""
    status = response.status_code
    if 200 <= status < 300:
        return
    if status == 429:
        reset = response.headers.get("x-rate-limit-reset")
        raise tweepy.errors.TooManyRequests(
            response, reset_time=int(reset) if reset and reset.isdigit() else None
        )
    if status >= 500:
        raise tweepy.errors.TwitterServerError(response)
    raise _ERRORS_BY_STATUS.get(status, tweepy.errors.HTTPException)(response)


def as_written(text: str, entities: dict[str, Any] | None) -> str:
    """A post's text as its author wrote it: X answers with every URL shortened to t.co, a t.co
    link appended per attached media, and &, < and > as HTML entities."""
    for url in (entities or {}).get("urls", []):
        short = str(url.get("url", ""))
        if short:
            written = "" if url.get("media_key") else str(url.get("expanded_url") or short)
            text = text.replace(short, written, 1)
    return normal_text(html.unescape(text))


def normal_text(text: str) -> str:
    """The form two texts are compared in: NFC, no surrounding space (X strips it)."""
    return unicodedata.normalize("NFC", text).strip()


class XApi:
    def __init__(
        self,
        consumer_key: str,
        consumer_secret: str,
        access_token: str,
        access_token_secret: str,
        *,
        api_url: str,
        timeout: tuple[float, float],
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._client = tweepy.Client(
            consumer_key=consumer_key,
            consumer_secret=consumer_secret,
            access_token=access_token,
            access_token_secret=access_token_secret,
        )
        self._session = _ApiHostSession(self.api_url, timeout)
        self._client.session = self._session
        self._auth = OAuth1(consumer_key, consumer_secret, access_token, access_token_secret)

    def me(self) -> Account:
        user = self._client.get_me(user_auth=True).data
        return Account(str(user.id), str(user.username))

    def recent_posts(self, user_id: str, since: datetime, max_results: int) -> list[Posted]:
        answer = self._client.get_users_tweets(
            user_id,
            user_auth=True,
            max_results=max_results,
            start_time=since,
            exclude=["replies", "retweets"],
            tweet_fields=["created_at", "entities"],
        )
        return [
            Posted(str(tweet.id), as_written(tweet.text, tweet.entities))
            for tweet in answer.data or []
        ]

    def create(self, text: str, media_ids: list[str]) -> Posted:
        answer = self._client.create_tweet(
            text=text, media_ids=media_ids or None, user_auth=True
        ).data
        return Posted(str(answer["id"]), text)

    def upload_image(self, data: bytes, content_type: str) -> str:
        response = self._session.post(
            f"{self.api_url}/2/media/upload",
            files={"media": ("image", data, content_type)},
            data={"media_category": "tweet_image", "media_type": content_type},
            auth=self._auth,
        )
        with response:
            _raise_for(response)
            return str(response.json()["data"]["id"])

    def set_alt_text(self, media_id: str, alt: str) -> None:
        response = self._session.post(
            f"{self.api_url}/2/media/metadata",
            json={"id": media_id, "metadata": {"alt_text": {"text": alt}}},
            auth=self._auth,
        )
        with response:
            _raise_for(response)

    def close(self) -> None:
        self._session.close()
