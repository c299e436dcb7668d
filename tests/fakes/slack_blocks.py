"""Block Kit limits the fake Slack enforces (`invalid_blocks`, `msg_blocks_too_long`, ...).

Text lengths are counted in UTF-16 code units, the strictest way Slack may count them: an emoji
outside the BMP counts two.
"""

from __future__ import annotations

from typing import Any

MAX_BLOCKS = 50
MAX_BLOCKS_JSON = 13_000  # measured on json.dumps(blocks), the form slack_sdk sends
MAX_TEXT = 40_000
LIMITS = {
    "section": 3000,
    "header": 150,
    "field": 2000,
    "fields": 10,
    "context": 10,
    "context_text": 3000,
    "actions": 25,
    "alt_text": 2000,
    "image_url": 3000,
    "image_title": 2000,
}
BLOCK_TYPES = {
    *("actions", "call", "context", "divider", "file", "header", "image", "input"),
    *("markdown", "rich_text", "section", "table", "video"),
}


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", errors="surrogatepass")) // 2


def utf16_prefix(text: str, limit: int) -> str:
    """What Slack keeps of a text cut at `limit` UTF-16 units."""
    data = text.encode("utf-16-le", errors="surrogatepass")[: 2 * limit]
    return data.decode("utf-16-le", errors="ignore")


def _text_len(obj: Any) -> int:
    return utf16_len(str(obj.get("text", ""))) if isinstance(obj, dict) else 0


def _context_text_errors(elements: list[Any], at: str) -> list[str]:
    """A context block's text objects: 1 to 3000 characters each (mrkdwn is not checked:
    Slack renders a malformed `<url|label>` as it comes)."""
    errors = []
    limit = LIMITS["context_text"]
    for j, element in enumerate(elements):
        if not isinstance(element, dict) or element.get("type") not in ("mrkdwn", "plain_text"):
            continue
        where = f"{at}/elements/{j}/text]"
        if _text_len(element) > limit:
            errors.append(f"must be less than {limit + 1} characters {where}")
        elif _text_len(element) == 0:
            errors.append(f"must be more than 0 characters {where}")
    return errors


def _image_errors(block: dict[str, Any], at: str) -> list[str]:
    """An image block: alt_text (plain, up to 2000), exactly one of image_url and slack_file
    (whether the file can be shown is the fake's files' to say), an optional plain title."""
    errors = []
    alt_text = block.get("alt_text")
    if not alt_text:
        errors.append(f"missing required field: alt_text {at}]")
    elif utf16_len(str(alt_text)) > LIMITS["alt_text"]:
        errors.append(f"must be less than {LIMITS['alt_text'] + 1} characters {at}/alt_text]")
    url, slack_file = block.get("image_url"), block.get("slack_file")
    if bool(url) == bool(slack_file):
        errors.append(f"must provide either image_url or slack_file {at}]")
    if url and utf16_len(str(url)) > LIMITS["image_url"]:
        errors.append(f"must be less than {LIMITS['image_url'] + 1} characters {at}/image_url]")
    title = block.get("title")
    if title is not None:
        if not isinstance(title, dict) or title.get("type") != "plain_text":
            errors.append(f"must be a plain_text text object {at}/title]")
        elif _text_len(title) > LIMITS["image_title"]:
            errors.append(f"must be less than 2001 characters {at}/title/text]")
    return errors


def block_errors(blocks: Any) -> list[str]:
    """Slack's `invalid_blocks` checks (a practical subset); returns the error strings."""
    if not isinstance(blocks, list):
        return ["must be an array [json-pointer:/blocks]"]
    errors: list[str] = []
    if len(blocks) > MAX_BLOCKS:
        errors.append(f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]")
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        at = f"[json-pointer:/blocks/{i}"
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in BLOCK_TYPES:
            errors.append(f"unsupported type {at}/type]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in block_ids:
                errors.append(f"duplicate block_id {at}/block_id]")
            block_ids.add(block_id)
        if kind == "section":
            text, fields = block.get("text"), block.get("fields")
            if text is None and not fields:
                errors.append(f"must provide either text or fields {at}]")
            if _text_len(text) > LIMITS["section"]:
                errors.append(f"must be less than 3001 characters {at}/text/text]")
            if fields is not None and len(fields) > LIMITS["fields"]:
                errors.append(f"no more than 10 items allowed {at}/fields]")
            for j, f in enumerate(fields or []):
                if _text_len(f) > LIMITS["field"]:
                    errors.append(f"must be less than 2001 characters {at}/fields/{j}/text]")
        elif kind == "header":
            text = block.get("text")
            if not isinstance(text, dict) or text.get("type") != "plain_text":
                errors.append(f"must be a plain_text text object {at}/text]")
            elif _text_len(text) > LIMITS["header"]:
                errors.append(f"must be less than 151 characters {at}/text/text]")
        elif kind == "image":
            errors.extend(_image_errors(block, at))
        elif kind in ("context", "actions"):
            elements = block.get("elements") or []
            if not elements or len(elements) > LIMITS[kind]:
                errors.append(f"must have 1 to {LIMITS[kind]} elements {at}/elements]")
            if kind == "context":
                errors.extend(_context_text_errors(elements, at))
    return errors
