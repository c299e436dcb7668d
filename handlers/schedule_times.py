"""Reading a `/schedule` time in a persona's time zone, showing one, and finding a persona's
next free posting slot. Pure functions over Unix seconds (UTC) and a `ZoneInfo`."""

from __future__ import annotations

import bisect
import random
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from handlers.ports import UserError
from pipeline.personas import Persona

NEXT = "next"
FORMS = "`next`, `HH:MM` (today), `YYYY-MM-DD HH:MM`, or ISO like `2026-12-03T09:00+01:00`"
MAX_AHEAD_DAYS = 366
# A slot is taken when another post of the persona is this close to it (or its jitter, if more).
SLOT_GAP_S = 300.0
# An approval must arrive this long before the post's time, else the post moves to a later slot.
LEAD_S = 300.0
VIDEO_LEAD_S = 900.0

_CLOCK = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")
_DATE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{1,2}:[0-9]{2}\S*")
_jitter = random.Random()


def lead_s(content_format: str) -> float:
    return VIDEO_LEAD_S if content_format == "video" else LEAD_S


def shown(at: float, zone: ZoneInfo) -> str:
    """`2026-12-03 09:00 Europe/Berlin (2026-12-03 08:00 UTC)`: the persona's zone, then UTC."""
    utc = f"{datetime.fromtimestamp(at, UTC):%Y-%m-%d %H:%M} UTC"
    if zone.key == "UTC":
        return utc
    return f"{datetime.fromtimestamp(at, zone):%Y-%m-%d %H:%M} {zone.key} ({utc})"


def read_when(text: str, zone: ZoneInfo, *, now: float) -> float | None:
    """The moment `text` names, local times read in `zone`; None for `next`. Refused: what is
    not a time, a local time that does not exist (clocks going forward), the past, and more
    than a year ahead."""
    word = " ".join(text.split())
    said = f"`{word[:40]}`"
    if word.lower() == NEXT:
        return None
    clock = _CLOCK.fullmatch(word)
    if clock:
        today = datetime.fromtimestamp(now, zone).date()
        moment = datetime.combine(today, time(int(clock[1]), int(clock[2])), tzinfo=zone)
    elif _DATE_TIME.fullmatch(word):
        try:
            moment = datetime.fromisoformat(word)
        except ValueError:
            raise UserError(f"{said} is not a date and time I can read; use {FORMS}.") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
    else:
        raise UserError(f"{said} is not a time; use {FORMS} (local times in {zone.key}).")
    if moment.tzinfo is zone and not _exists(moment, zone):
        raise UserError(
            f"{said} does not exist in {zone.key} (the clocks go forward then); pick another time."
        )
    at = moment.timestamp()
    if at <= now:
        raise UserError(
            f"{said} ({shown(at, zone)}) is in the past; it is now {shown(now, zone)}. "
            "Give a later time, a date (`YYYY-MM-DD HH:MM`), or `next`."
        )
    if at > now + MAX_AHEAD_DAYS * 86400:
        raise UserError(f"{said} is more than {MAX_AHEAD_DAYS} days ahead; pick a nearer time.")
    return at


def _exists(moment: datetime, zone: ZoneInfo) -> bool:
    back = datetime.fromtimestamp(moment.timestamp(), zone)
    return back.replace(tzinfo=None) == moment.replace(tzinfo=None)


def slot_times(persona: Persona, *, after: float, days: int) -> Iterator[float]:
    """The persona's slots after `after`, in order, over `days` local days."""
    zone = persona.zone
    first = datetime.fromtimestamp(after, zone).date()
    for offset in range(days + 1):
        day = first + timedelta(days=offset)
        for hour, minute in persona.slots:
            moment = datetime.combine(day, time(hour, minute), tzinfo=zone)
            if _exists(moment, zone) and moment.timestamp() > after:
                yield moment.timestamp()


def next_free_slot(
    persona: Persona, taken: Sequence[float], *, after: float, days: int = MAX_AHEAD_DAYS
) -> float | None:
    """The first slot after `after` with no other post of the persona near it (and under the
    daily cap), plus a random jitter; None when every slot in `days` is taken. `taken`: the
    persona's other publish times, sorted."""
    gap = max(SLOT_GAP_S, persona.jitter_minutes * 60.0)
    per_day: Counter[date] = Counter(_local_day(t, persona.zone) for t in taken)
    for slot in slot_times(persona, after=after, days=days):
        if persona.daily_cap is not None and per_day[_local_day(slot, persona.zone)] >= (
            persona.daily_cap
        ):
            continue
        i = bisect.bisect_left(taken, slot - gap)
        if i < len(taken) and taken[i] <= slot + gap:
            continue
        return slot + _jitter.uniform(0.0, persona.jitter_minutes * 60.0)
    return None


def _local_day(at: float, zone: ZoneInfo) -> date:
    return datetime.fromtimestamp(at, zone).date()
