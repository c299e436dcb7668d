"""Personas and their pillars, loaded from a TOML file (see personas.example.toml)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path


class PersonaError(ValueError):
    """An unknown persona or pillar; the message lists the valid ones."""


@dataclass(frozen=True)
class Pillar:
    name: str
    description: str
    default_special: str


@dataclass(frozen=True)
class Persona:
    handle: str
    display_name: str
    voice: str
    hashtags: tuple[str, ...]
    default_pillar: str
    pillars: dict[str, Pillar]


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


def load_personas(path: Path) -> Personas:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PersonaError(f"personas file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PersonaError(f"personas file {path} is not valid TOML: {exc}") from exc
    personas: dict[str, Persona] = {}
    for handle, raw in (data.get("personas") or {}).items():
        pillars = {
            name.lower(): Pillar(
                name=name.lower(),
                description=str(p.get("description", "")),
                default_special=str(
                    p.get(
                        "default_special", "Generate exactly 1 item: 1 with content_format='text'."
                    )
                ),
            )
            for name, p in (raw.get("pillars") or {}).items()
        }
        if not pillars:
            raise PersonaError(f"persona '{handle}' in {path} has no pillars")
        default_pillar = str(raw.get("default_pillar") or next(iter(pillars)))
        if default_pillar not in pillars:
            raise PersonaError(
                f"persona '{handle}': default_pillar '{default_pillar}' is not defined"
            )
        personas[handle.lower()] = Persona(
            handle=handle.lower(),
            display_name=str(raw.get("display_name", handle)),
            voice=str(raw.get("voice", "")),
            hashtags=tuple(str(h) for h in raw.get("hashtags", [])),
            default_pillar=default_pillar,
            pillars=pillars,
        )
    if not personas:
        raise PersonaError(f"personas file {path} defines no personas")
    default = str(data.get("default_persona") or next(iter(personas))).lower()
    if default not in personas:
        raise PersonaError(f"default_persona '{default}' is not defined in {path}")
    return Personas(default_persona=default, by_handle=personas)
