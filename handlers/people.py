"""Who is who: platform-qualified identities, people with ids on several platforms, and roles.

Every actor the core stores (proposer, author, reactor) is a qualified id such as `slack:U0AB12`,
`discord:81234567890` or `console:editor`, so ids from two platforms never compare equal by
accident. `PEOPLE` maps one person to their ids on several platforms, so the rules below hold for
the person, whichever platform they act from.

An entry of `APPROVERS` or `EDITORS` may be a person's name from `PEOPLE`, a qualified id, or a
bare id (`U0AB12`, as written before ids were qualified): a bare id matches that id on any
platform. Slack ids (`U…`/`W…`) and Discord snowflakes (digits) cannot be mistaken for each other,
so the old lists keep their meaning.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from handlers.ports import qualified_id


def qualified(platform: str, user_id: str) -> str:
    """`slack:U1` for a bare id seen on Slack; an id that is already qualified stays as it is."""
    if ":" in user_id and user_id.split(":", 1)[0] in KNOWN_PLATFORMS:
        return user_id
    return qualified_id(platform, user_id)


KNOWN_PLATFORMS = frozenset({"slack", "discord", "console"})


def parse_people(text: str) -> dict[str, frozenset[str]]:
    """`aaron=slack:U1+discord:42; bea=slack:U2` → {"aaron": {"slack:U1", "discord:42"}, ...}."""
    people: dict[str, frozenset[str]] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, sep, ids = part.partition("=")
        name = name.strip()
        found = [i.strip() for i in ids.split("+") if i.strip()]
        if not sep or not name or not found:
            raise ValueError(
                f"write PEOPLE like aaron=slack:U0AB12+discord:4242;bea=slack:U0CD, "
                f"not {part[:60]!r}"
            )
        for one in found:
            platform, colon, user_id = one.partition(":")
            if not colon or platform not in KNOWN_PLATFORMS or not user_id:
                raise ValueError(
                    f"PEOPLE: {one[:40]!r} is not platform:id (platform is one of "
                    f"{', '.join(sorted(KNOWN_PLATFORMS))})"
                )
        if name in people:
            raise ValueError(f"PEOPLE names {name[:40]!r} twice; give each person one entry")
        people[name] = frozenset(found)
    return people


@dataclass(frozen=True)
class Roles:
    """Approvers, editors and the people map; every check takes qualified ids."""

    approvers: frozenset[str] = frozenset()
    editors: frozenset[str] = frozenset()
    people: dict[str, frozenset[str]] = field(default_factory=dict)

    def person(self, who: str) -> str:
        """The person behind a qualified id: their name from PEOPLE, else the id itself."""
        for name, ids in self.people.items():
            if who in ids:
                return name
        return who

    def same_person(self, a: str, b: str) -> bool:
        return a == b or self.person(a) == self.person(b)

    def _listed(self, who: str, entries: Iterable[str]) -> bool:
        bare = who.split(":", 1)[1] if ":" in who else who
        name = self.person(who)
        return any(entry in (who, bare, name) for entry in entries)

    def is_approver(self, who: str) -> bool:
        return self._listed(who, self.approvers)

    def is_editor(self, who: str) -> bool:
        return self._listed(who, self.editors)
