"""What the fake Bluesky PDS keeps and checks: CIDs, TIDs, tokens, and a post record's lexicon
rules (app.bsky.feed.post with app.bsky.embed.images), with the reference PDS's messages."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import regex

POST = "app.bsky.feed.post"
MAX_GRAPHEMES = 300
MAX_TEXT_BYTES = 3000
MAX_IMAGES = 4
TID_RE = regex.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_RAW, _DAG_CBOR = 0x55, 0x71


@dataclass
class StoredRecord:
    uri: str
    cid: str
    collection: str
    rkey: str
    value: dict[str, Any]
    writes: int = 1  # putRecord over an existing record adds one


@dataclass
class StoredBlob:
    data: bytes
    mime_type: str


class RecordRefusedError(ValueError):
    """A write the PDS answers 400 InvalidRequest (or `error`) with this message."""

    def __init__(self, message: str, error: str = "InvalidRequest") -> None:
        super().__init__(message)
        self.error = error


def cid_for(data: bytes, *, raw: bool) -> str:
    """A CIDv1 (sha2-256) in base32, as the PDS prints them: raw for blobs, dag-cbor for records."""
    prefix = bytes([0x01, _RAW if raw else _DAG_CBOR, 0x12, 0x20])
    digest = hashlib.sha256(data).digest()
    return "b" + base64.b32encode(prefix + digest).decode().lower().rstrip("=")


def new_tid() -> str:
    value = (time.time_ns() // 1000) << 10 | secrets.randbelow(1024)
    return "".join(_TID_ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(13)))


def jwt(claims: dict[str, Any]) -> str:
    """A JWT whose payload the SDK can read (it checks `exp` to refresh ahead of time)."""

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    header = json.dumps({"typ": "at+jwt", "alg": "ES256K"}).encode()
    return ".".join(
        (part(header), part(json.dumps(claims).encode()), part(secrets.token_bytes(32)))
    )


def sniff_image_type(data: bytes) -> str:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


def check_post(record: Any, rkey: str, blobs: dict[str, StoredBlob], max_image_bytes: int) -> None:
    """Raises RecordRefusedError the way the reference PDS words its lexicon errors."""
    if not TID_RE.match(rkey):
        raise RecordRefusedError(f"Invalid record key for {POST}: must be a TID, got {rkey!r}")
    if not isinstance(record, dict):
        raise RecordRefusedError("Record must be an object")
    if record.get("$type") != POST:
        raise RecordRefusedError(f"Invalid $type: must be {POST}")
    invalid = f"Invalid {POST} record: "
    text = record.get("text")
    if not isinstance(text, str):
        raise RecordRefusedError(invalid + 'Record must have the property "text"')
    if len(text.encode()) > MAX_TEXT_BYTES:
        raise RecordRefusedError(
            invalid + f"Record/text must not be longer than {MAX_TEXT_BYTES} characters"
        )
    if len(regex.findall(r"\X", text)) > MAX_GRAPHEMES:
        raise RecordRefusedError(
            invalid + f"Record/text must not be longer than {MAX_GRAPHEMES} graphemes"
        )
    created_at = record.get("createdAt")
    try:
        datetime.fromisoformat(str(created_at).replace("Z", "+00:00"))
    except ValueError:
        raise RecordRefusedError(
            invalid + "Record/createdAt must be an valid atproto datetime"
        ) from None
    embed = record.get("embed")
    if embed is not None:
        _check_images(embed, blobs, max_image_bytes, invalid)


def _check_images(
    embed: Any, blobs: dict[str, StoredBlob], max_image_bytes: int, invalid: str
) -> None:
    if not isinstance(embed, dict) or embed.get("$type") != "app.bsky.embed.images":
        raise RecordRefusedError(
            invalid + "Record/embed must be app.bsky.embed.images in this fake"
        )
    images = embed.get("images")
    if not isinstance(images, list):
        raise RecordRefusedError(invalid + 'Record/embed must have the property "images"')
    if len(images) > MAX_IMAGES:
        raise RecordRefusedError(
            invalid + f"Record/embed/images must not have more than {MAX_IMAGES} elements"
        )
    for index, image in enumerate(images):
        where = f"Record/embed/images/{index}"
        if not isinstance(image, dict) or not isinstance(image.get("alt"), str):
            raise RecordRefusedError(invalid + f'{where} must have the property "alt"')
        blob = image.get("image")
        if not isinstance(blob, dict) or blob.get("$type") != "blob":
            raise RecordRefusedError(invalid + f"{where}/image should be a blob ref")
        link = (blob.get("ref") or {}).get("$link")
        stored = blobs.get(link) if isinstance(link, str) else None
        if stored is None:
            raise RecordRefusedError(f"Could not find blob: {link}", error="BlobNotFound")
        if not str(blob.get("mimeType", "")).startswith("image/"):
            raise RecordRefusedError(invalid + f"{where}/image mimeType is not accepted")
        if len(stored.data) > max_image_bytes:
            raise RecordRefusedError(invalid + f"{where}/image file too large")
