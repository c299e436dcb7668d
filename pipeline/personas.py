"""Personas and their pillars, loaded from a TOML file (see personas.example.toml)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class PersonaError(ValueError):
    """An unknown persona or pillar (the message lists the valid ones), or a personas file
    that cannot be used (the message names the file, what is wrong and what to do)."""


@dataclass(frozen=True)
class Pillar:
    name: str
    description: str
    default_special: str


@dataclass(frozen=True)
class DestinationSpec:
    """One place a persona's approved posts go, as the personas file names it. Options hold
    plain values (a handle, an instance URL); a credential is named by the setting that holds
    it (`app_password_setting = "AIAARON_BLUESKY_APP_PASSWORD"`), never written inline."""

    kind: str
    options: dict[str, str]

    def setting(self, what: str) -> str | None:
        return self.options.get(f"{what}_setting")


@dataclass(frozen=True)
class Persona:
    handle: str
    display_name: str
    voice: str
    hashtags: tuple[str, ...]
    default_pillar: str
    pillars: dict[str, Pillar]
    # Empty: the install's publisher (PUBLISH_WEBHOOK_URL, else the outbox folder).
    destinations: tuple[DestinationSpec, ...] = ()
    # When `/schedule <post> next` and a late approval place posts: local times in `timezone`
    # (an IANA name), a random delay of up to `jitter_minutes` after the slot, at most
    # `daily_cap` slotted posts a day (None: no cap).
    timezone: str = "UTC"
    slots: tuple[tuple[int, int], ...] = ((9, 0), (13, 0), (18, 0))
    jitter_minutes: int = 5
    daily_cap: int | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Personas:
    default_persona: str
    by_handle: dict[str, Persona]

    def persona(self, handle: str | None) -> Persona:
        key = (handle or self.default_persona).lstrip("@").lower()
        if key not in self.by_handle:
            valid = ", ".join(self.by_handle)
            raise PersonaError(f"unknown persona '{handle}'. Valid personas: {valid}.")
        return self.by_handle[key]

    def pillar(self, persona: Persona, name: str | None) -> Pillar:
        key = (name or persona.default_pillar).lower()
        if key not in persona.pillars:
            valid = ", ".join(persona.pillars)
            raise PersonaError(
                f"unknown pillar '{name}' for @{persona.handle}. Valid pillars: {valid}."
            )
        return persona.pillars[key]

    def all_pillars(self) -> list[str]:
        return sorted({p for persona in self.by_handle.values() for p in persona.pillars})


# Discord caps slash-command choice names and values at 100 characters; a longer persona or
# pillar name would make it refuse the whole command registration.
NAME_MAX = 100
SHOWN_MAX = 40
# One word, as `persona:HANDLE` and `pillar:NAME` are typed: letters, digits, `_`, `-`, `.`.
_NAME = re.compile(r"\w[\w.-]*")
DEFAULT_SPECIAL = "Generate exactly 1 item: 1 with content_format='text'."


def _shown(name: str) -> str:
    """`name` for an error message: cut, and invisible characters spelt out, on one line."""
    name = name if len(name) <= SHOWN_MAX else name[: SHOWN_MAX - 1] + "…"
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in name)


def check_name(kind: str, name: object, path: Path) -> str:
    """`name` lower-cased, or PersonaError saying what is wrong with it and what to do."""
    if not isinstance(name, str) or not name.strip():
        raise PersonaError(f"personas file {path}: a {kind} name is empty; give it a name.")
    length = len(name.encode("utf-16-le")) // 2  # as Discord may count: never fewer
    if length > NAME_MAX:
        raise PersonaError(
            f"personas file {path}: {kind} name '{_shown(name)}' is {length} characters; "
            f"shorten it to at most {NAME_MAX} (Discord's limit for command choices)."
        )
    if not _NAME.fullmatch(name):
        raise PersonaError(
            f"personas file {path}: {kind} name '{_shown(name)}' cannot be typed as "
            f"{kind}:NAME; use one word of letters, digits, _ - or . (like deep_dives)."
        )
    return name.lower()


def _table(value: object, what: str, path: Path) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PersonaError(f"personas file {path}: {what} must be a table, like [{what}].")
    return value


def _unique(kind: str, names: list[str], where: str, path: Path) -> None:
    seen: set[str] = set()
    for name in names:
        key = name.lower()
        if key in seen:
            raise PersonaError(
                f"personas file {path}: {kind} name '{_shown(name)}' is given twice{where} "
                "(names are compared ignoring case); rename one."
            )
        seen.add(key)


def _pillars(handle: str, raw: dict[str, Any], path: Path) -> dict[str, Pillar]:
    table = _table(raw.get("pillars") or {}, f"personas.{handle}.pillars", path)
    _unique("pillar", list(table), f" for persona '{handle}'", path)
    pillars = {}
    for name, p in table.items():
        key = check_name("pillar", name, path)
        p = _table(p, f"personas.{handle}.pillars.{name}", path)
        special = str(p.get("default_special", DEFAULT_SPECIAL))
        pillars[key] = Pillar(key, str(p.get("description", "")), special)
    return pillars


DESTINATION_KINDS = ("bluesky", "mastodon", "x", "webhook", "outbox")
# What each kind needs: plain options, and credentials named by their setting.
DESTINATION_NEEDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "bluesky": (("handle",), ("app_password",)),
    "mastodon": (("instance",), ("access_token",)),
    "x": ((), ("consumer_key", "consumer_secret", "access_token", "access_token_secret")),
    "webhook": ((), ()),
    "outbox": ((), ()),
}
_SECRET_WORDS = ("password", "token", "secret", "key")


def _destinations(handle: str, raw: object, path: Path) -> tuple[DestinationSpec, ...]:
    """`[[personas.NAME.destinations]]` tables, checked: a known kind, what it needs, no inline
    credential, no kind twice."""
    if raw is None:
        return ()
    where = f"personas.{handle}.destinations"
    if not isinstance(raw, list):
        raise PersonaError(
            f"personas file {path}: {where} must be a list of tables, like [[{where}]]."
        )
    found: list[DestinationSpec] = []
    for entry in raw:
        table = _table(entry, f"[{where}]", path)
        kind = str(table.get("kind", "")).lower()
        if kind not in DESTINATION_KINDS:
            raise PersonaError(
                f"personas file {path}: a destination of '{handle}' has kind '{_shown(kind)}'; "
                f"use one of {', '.join(DESTINATION_KINDS)}."
            )
        options = {str(k): str(v) for k, v in table.items() if k != "kind"}
        for name in options:
            if any(w in name for w in _SECRET_WORDS) and not name.endswith("_setting"):
                raise PersonaError(
                    f"personas file {path}: '{handle}' {kind} destination writes its {name} "
                    f"inline; put it in a setting (.env) and name that: {name}_setting = "
                    f'"{handle.upper()}_{kind.upper()}_{name.upper()}".'
                )
        plain, secret = DESTINATION_NEEDS[kind]
        missing = [n for n in plain if not options.get(n)]
        missing += [f"{n}_setting" for n in secret if not options.get(f"{n}_setting")]
        if missing:
            raise PersonaError(
                f"personas file {path}: '{handle}' {kind} destination needs {', '.join(missing)}."
            )
        if any(d.kind == kind for d in found):
            raise PersonaError(
                f"personas file {path}: '{handle}' lists a {kind} destination twice; keep one."
            )
        found.append(DestinationSpec(kind, options))
    return tuple(found)


_SLOT = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")
MAX_JITTER_MINUTES = 60


def _posting_times(handle: str, raw: dict[str, Any], path: Path) -> dict[str, Any]:
    """`timezone`, `slots`, `jitter_minutes` and `daily_cap`, checked; only those given."""
    found: dict[str, Any] = {}
    where = f"personas file {path}: persona '{handle}'"
    if "timezone" in raw:
        name = raw["timezone"]
        try:
            ZoneInfo(str(name))
        except (ZoneInfoNotFoundError, ValueError):
            raise PersonaError(
                f"{where} has timezone '{_shown(str(name))}', which is not a known IANA time "
                'zone; use one like "Europe/Berlin", "America/New_York" or "UTC".'
            ) from None
        found["timezone"] = str(name)
    if "slots" in raw:
        slots = raw["slots"] if isinstance(raw["slots"], list) else []
        matches = [_SLOT.fullmatch(s) if isinstance(s, str) else None for s in slots or [None]]
        if not all(matches):
            raise PersonaError(
                f'{where}: slots must be a list of local times like ["09:00", "13:00", "18:00"].'
            )
        found["slots"] = tuple(sorted({(int(m[1]), int(m[2])) for m in matches if m}))
    jitter = raw.get("jitter_minutes", 5)
    if type(jitter) is not int or not 0 <= jitter <= MAX_JITTER_MINUTES:
        raise PersonaError(
            f"{where}: jitter_minutes must be a whole number from 0 to {MAX_JITTER_MINUTES}."
        )
    found["jitter_minutes"] = jitter
    cap = raw.get("daily_cap")
    if cap is not None and (type(cap) is not int or cap < 1):
        raise PersonaError(f"{where}: daily_cap must be a whole number of at least 1.")
    found["daily_cap"] = cap
    return found


def load_personas(path: Path) -> Personas:
    """The personas file, checked: names that fit Discord's limits and can be typed, unique."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PersonaError(f"personas file not found: {path}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise PersonaError(f"personas file {path} cannot be read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PersonaError(f"personas file {path} is not valid TOML: {exc}") from exc
    table = _table(data.get("personas") or {}, "personas", path)
    _unique("persona", list(table), "", path)
    personas: dict[str, Persona] = {}
    for name, raw in table.items():
        handle = check_name("persona", name, path)
        raw = _table(raw, f"personas.{name}", path)
        pillars = _pillars(handle, raw, path)
        if not pillars:
            raise PersonaError(f"persona '{handle}' in {path} has no pillars")
        default_pillar = str(raw.get("default_pillar") or next(iter(pillars))).lower()
        if default_pillar not in pillars:
            raise PersonaError(
                f"persona '{handle}': default_pillar '{default_pillar}' is not defined"
            )
        personas[handle] = Persona(
            handle=handle,
            display_name=str(raw.get("display_name", name)),
            voice=str(raw.get("voice", "")),
            hashtags=tuple(str(h) for h in raw.get("hashtags", [])),
            default_pillar=default_pillar,
            pillars=pillars,
            destinations=_destinations(handle, raw.get("destinations"), path),
            **_posting_times(handle, raw, path),
        )
    if not personas:
        raise PersonaError(f"personas file {path} defines no personas")
    default = str(data.get("default_persona") or next(iter(personas))).lower()
    if default not in personas:
        raise PersonaError(f"default_persona '{default}' is not defined in {path}")
    return Personas(default_persona=default, by_handle=personas)
