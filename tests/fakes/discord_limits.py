"""Discord's error bodies and the limits the fake Discord enforces with them.

``ApiError`` becomes Discord's ``{"message", "code"[, "errors"]}`` body. The validators raise
50035 Invalid Form Body with Discord's nested ``errors`` (or 50006 for an empty message) for
messages, embeds (sizes, and an embed ``url`` that is not http(s)) and application commands
(subcommands too; ``default_member_permissions`` a permission bitfield);
``parse_snowflake`` rejects ids that are not numbers.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from tests.fakes.discord_records import UploadedFile


def field_error(code: str, message: str) -> dict[str, Any]:
    return {"_errors": [{"code": code, "message": message}]}


def nest_errors(path: list[str], error: dict[str, Any], into: dict[str, Any]) -> None:
    node = into
    for part in path:
        node = node.setdefault(part, {})
    node.update(error)


class ApiError(Exception):
    """Raised by REST handlers; becomes Discord's ``{"message", "code"[, "errors"]}`` body."""

    def __init__(self, status: int, code: int, message: str, errors: dict | None = None):
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.body: dict[str, Any] = {"message": message, "code": code}
        if errors:
            self.body["errors"] = errors

    @classmethod
    def invalid_form(cls, errors: dict[str, Any]) -> ApiError:
        return cls(400, 50035, "Invalid Form Body", errors)


def too_long(limit: int) -> dict[str, Any]:
    return field_error("BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def parse_snowflake(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        error = field_error("NUMBER_TYPE_COERCE", f'Value "{raw}" is not snowflake.')
        raise ApiError.invalid_form({"id": error}) from None


def validate_message(
    body: dict[str, Any], files: list[UploadedFile], *, allow_empty: bool = False
) -> None:
    """Discord's message limits; raises 50035 Invalid Form Body (or 50006 when empty)."""
    if not isinstance(body, dict):
        raise ApiError.invalid_form({"_errors": [{"code": "DICT_TYPE_CONVERT"}]})
    errors: dict[str, Any] = {}
    content = body.get("content") or ""
    if len(content) > 2000:
        nest_errors(["content"], too_long(2000), errors)
    nonce = body.get("nonce")
    if nonce is not None and len(str(nonce)) > 25:
        nest_errors(["nonce"], too_long(25), errors)
    embeds = body.get("embeds") or []
    if len(embeds) > 10:
        nest_errors(["embeds"], too_long(10), errors)
    total = 0
    for i, embed in enumerate(embeds):
        total += _validate_embed(embed, ["embeds", str(i)], errors)
    if total > 6000:
        nest_errors(
            ["embeds"],
            field_error("MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000"),
            errors,
        )
    attachments = body.get("attachments") or []
    if len(files) > 10 or len(attachments) > 10:
        nest_errors(["attachments"], too_long(10), errors)
    if errors:
        raise ApiError.invalid_form(errors)
    empty = not (
        content.strip()
        or embeds
        or files
        or attachments
        or body.get("sticker_ids")
        or body.get("components")
        or body.get("poll")
    )
    if empty and not allow_empty:
        raise ApiError(400, 50006, "Cannot send an empty message")


def url_error(url: object) -> dict[str, Any] | None:
    """Discord's check of an embed's `url`: an http(s) URL with a host."""
    text = url if isinstance(url, str) else ""
    try:
        parts = urlsplit(text)
    except ValueError:
        return field_error("URL_TYPE_INVALID_URL", "Not a well formed URL.")
    if parts.scheme not in ("http", "https"):
        message = (
            f"Scheme \"{parts.scheme}\" is not supported. Scheme must be one of ('http', 'https')."
        )
        return field_error("URL_TYPE_INVALID_SCHEME", message)
    if not parts.netloc:
        return field_error("URL_TYPE_INVALID_URL", "Not a well formed URL.")
    return None


def _validate_embed(embed: dict[str, Any], path: list[str], errors: dict[str, Any]) -> int:
    limits = {"title": 256, "description": 4096}
    size = 0
    if "url" in embed and (error := url_error(embed["url"])) is not None:
        nest_errors([*path, "url"], error, errors)
    for key, limit in limits.items():
        text = embed.get(key) or ""
        size += len(text)
        if len(text) > limit:
            nest_errors([*path, key], too_long(limit), errors)
    for key, sub, limit in (("footer", "text", 2048), ("author", "name", 256)):
        text = (embed.get(key) or {}).get(sub) or ""
        size += len(text)
        if len(text) > limit:
            nest_errors([*path, key, sub], too_long(limit), errors)
    fields = embed.get("fields") or []
    if len(fields) > 25:
        nest_errors([*path, "fields"], too_long(25), errors)
    for j, fld in enumerate(fields):
        for key, limit in (("name", 256), ("value", 1024)):
            text = fld.get(key) or ""
            size += len(text)
            where = [*path, "fields", str(j), key]
            if not text:
                nest_errors(
                    where, field_error("BASE_TYPE_REQUIRED", "This field is required"), errors
                )
            elif len(text) > limit:
                nest_errors(where, too_long(limit), errors)
    return size


_COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")


def validate_command(cmd: dict[str, Any], path: list[str], errors: dict[str, Any]) -> None:
    name = cmd.get("name") or ""
    kind = cmd.get("type", 1)
    if not _COMMAND_NAME.match(name) or (kind == 1 and name != name.lower()):
        message = "Command name is invalid"
        nest_errors(
            [*path, "name"], field_error("APPLICATION_COMMAND_INVALID_NAME", message), errors
        )
    if kind == 1 and not 1 <= len(cmd.get("description") or "") <= 100:
        message = "Must be between 1 and 100 in length."
        nest_errors([*path, "description"], field_error("BASE_TYPE_BAD_LENGTH", message), errors)
    permissions = cmd.get("default_member_permissions")
    if permissions is not None and permission_bits(permissions) is None:
        message = f'Value "{permissions}" is not a valid permissions bitfield.'
        error = field_error("PERMISSIONS_TYPE_INVALID", message)
        nest_errors([*path, "default_member_permissions"], error, errors)
    options = cmd.get("options") or []
    if len(options) > 25:
        nest_errors([*path, "options"], too_long(25), errors)
    for i, option in enumerate(options):
        where = [*path, "options", str(i)]
        if option.get("type") in (1, 2):
            validate_command(dict(option, type=1), where, errors)
        else:
            validate_choices(option.get("choices") or [], [*where, "choices"], errors)


def permission_bits(value: object) -> int | None:
    """A permission bitfield as Discord takes it: its number as a string (as Discord writes it
    back), or as a whole number (as discord.py sends it); None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _bad_length(low: int, high: int) -> dict[str, Any]:
    return field_error("BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length.")


def validate_choices(choices: list[Any], path: list[str], errors: dict[str, Any]) -> None:
    """An option's choices, or an autocomplete answer's: at most 25, each with a name of 1 to
    100 characters and, for a string option, a value of at most 100."""
    if len(choices) > 25:
        nest_errors(path, too_long(25), errors)
    for j, choice in enumerate(choices):
        name, value = choice.get("name"), choice.get("value")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            nest_errors([*path, str(j), "name"], _bad_length(1, 100), errors)
        if isinstance(value, str) and not 1 <= len(value) <= 100:
            nest_errors([*path, str(j), "value"], _bad_length(1, 100), errors)
