"""The library, run, plan and costs pages as data, scoped to the channel a link was made for.
Nothing here writes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from handlers import cards
from handlers.commands import POST_STATUSES
from handlers.deps import Deps
from handlers.links import Grant
from handlers.ports import UserError
from handlers.post_page import PageNotFoundError
from pipeline.spec import STEP_TITLES
from storage import library, plans, posts, steps
from storage.library import COUNT_CAP, Filters
from storage.models import Post

TABS = ("awaiting_approval", "approved", "published", "rejected", "failed", "expired")
PAGE_SIZE = 25
MAX_RANGE_DAYS = 366


@dataclass(frozen=True)
class Tab:
    status: str
    label: str
    count: str  # "12", or "10000+"


@dataclass(frozen=True)
class PostRow:
    post_id: int  # the key, in its page's URL
    persona: str
    pillar: str
    content_format: str
    status: str
    headline: str
    created: str
    number: int  # as people in its workspace call it


@dataclass(frozen=True)
class LibraryPage:
    tabs: tuple[Tab, ...]
    rows: tuple[PostRow, ...]
    filters: Filters
    personas: tuple[str, ...]
    pillars: tuple[str, ...]
    older: int | None  # `before` for the next page, when there is one
    newer: int | None  # `after` for the previous page, when there is one


@dataclass(frozen=True)
class ItemRow:
    post_id: int
    content_format: str
    status: str
    steps: tuple[tuple[str, str], ...]  # (step title, status)
    number: int


@dataclass(frozen=True)
class RunPage:
    run_id: int
    plan_id: int
    status: str
    error: str | None
    items: tuple[ItemRow, ...]
    finished: int
    live: bool  # the run goes on: the page keeps itself up to date
    plan_number: int
    number: int  # as people in its workspace call it (`run_id` is its key, in URLs)


@dataclass(frozen=True)
class PlanPage:
    plan_id: int
    persona: str
    pillar: str
    idea: str
    revisions: tuple[
        tuple[int, str, str, str, str | None], ...
    ]  # rev, angle, rationale, special, note
    runs: tuple[tuple[int, int, str, str], ...]  # run id, its number, status, started
    number: int


@dataclass(frozen=True)
class CostRow:
    day: str
    persona: str
    provider: str
    cost: float
    unknown: int


@dataclass(frozen=True)
class CostsPage:
    since: dt.date
    until: dt.date  # included
    rows: tuple[CostRow, ...]
    by_day: tuple[tuple[str, float], ...]  # every day of the range, oldest first
    total: float


def parse_day(text: str | None, what: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UserError(f"{what} must be a date like 2026-05-11, not {text[:20]!r}.") from None


def _start(day: dt.date) -> float:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()


def library_filters(deps: Deps, query: dict[str, str]) -> Filters:
    """The library's filters from a page's query, each checked; a bad one is refused by name."""
    status = query.get("status") or None
    if status is not None and status not in POST_STATUSES:
        raise UserError(f"There is no status {status[:30]!r}; the tabs are the statuses.")
    persona = (query.get("persona") or "").lstrip("@").lower() or None
    if persona is not None:
        deps.personas.persona(persona)
    since = parse_day(query.get("from"), "from")
    until = parse_day(query.get("to"), "to")
    return Filters(
        status=status or "awaiting_approval",
        persona=persona,
        pillar=query.get("pillar") or None,
        since=_start(since) if since else None,
        until=_start(until) + 86400 if until else None,
        words=(query.get("q") or "")[:200],
    )


async def library_page(
    deps: Deps, grant: Grant, filters: Filters, *, before: int | None, after: int | None
) -> LibraryPage:
    if grant.share.kind != "library":
        raise PageNotFoundError("This link opens one page, not the library.")
    reader = deps.db.reader
    found = await library.page_of_posts(
        reader, grant.place, filters, before=before, after=after, limit=PAGE_SIZE + 1
    )
    going_back = after is not None
    more = len(found) > PAGE_SIZE
    page = (found[1:] if going_back else found[:PAGE_SIZE]) if more else found
    counts, capped = await library.count_by_status(reader, grant.place, filters, TABS)
    shown = {
        s: f"{COUNT_CAP}+" if n > COUNT_CAP else f"{n}+" if capped else str(n)
        for s, n in counts.items()
    }
    personas = tuple(sorted(deps.personas.by_handle))
    return LibraryPage(
        tabs=tuple(Tab(s, cards.status_words(s), shown[s]) for s in TABS),
        rows=tuple(_row(p) for p in page),
        filters=filters,
        personas=personas,
        pillars=tuple(deps.personas.all_pillars()),
        older=page[-1].id if page and (more or going_back) else None,
        newer=page[0].id if page and (before is not None or (going_back and more)) else None,
    )


def _row(post: Post) -> PostRow:
    return PostRow(
        post.id,
        post.persona,
        post.pillar,
        post.content_format,
        cards.status_words(post.status),
        post.headline or "(not drafted yet)",
        cards.when(post.created_at),
        post.number,
    )


async def run_page(deps: Deps, grant: Grant, run_id: int) -> RunPage:
    reader = deps.db.reader
    run = await plans.get_run(reader, run_id)
    if (
        run is None
        or (run.platform, run.channel_id) != grant.place
        or not grant.opens("run", run.id, plan_id=run.plan_id)
    ):
        raise PageNotFoundError("There is no such run here.")
    by_post: dict[int, list[tuple[str, str]]] = {}
    for step in await steps.steps_of_run(reader, run_id):
        if step.post_id is not None:
            by_post.setdefault(step.post_id, []).append(
                (STEP_TITLES.get(step.name, step.name), step.status)
            )
    items = tuple(
        ItemRow(
            p.id,
            p.content_format,
            cards.status_words(p.status),
            tuple(by_post.get(p.id, ())),
            p.number,
        )
        for p in await posts.posts_of_run(reader, run_id)
    )
    plan = await plans.get_plan(reader, run.plan_id)
    return RunPage(
        run_id=run.id,
        plan_id=run.plan_id,
        status=run.status,
        error=run.error,
        items=items,
        finished=sum(1 for i in items if i.status != "drafting"),
        live=run.status in ("queued", "running"),
        plan_number=plan.number if plan else 0,
        number=run.number,
    )


async def plan_page(deps: Deps, grant: Grant, plan_id: int) -> PlanPage:
    reader = deps.db.reader
    plan = await plans.plan_in(reader, plan_id, grant.place)
    if plan is None or not grant.opens("plan", plan.id):
        raise PageNotFoundError("There is no such plan here.")
    revisions = []
    for rev in range(plan.current_rev, 0, -1):
        r = await plans.get_revision(reader, plan.id, rev)
        if r is not None:
            revisions.append((r.rev, r.angle, r.rationale, r.special_message, r.note))
    runs = tuple(
        (r.id, r.number, r.status, cards.when(r.created_at))
        for r in await plans.runs_of_plan(reader, plan.id)
    )
    return PlanPage(
        plan.id, plan.persona, plan.pillar, plan.idea, tuple(revisions), runs, plan.number
    )


async def costs_page(
    deps: Deps, grant: Grant, since: dt.date | None, until: dt.date | None
) -> CostsPage:
    if grant.share.kind != "library":
        raise PageNotFoundError("This link opens one page, not the costs.")
    today = dt.datetime.fromtimestamp(deps.clock(), dt.UTC).date()
    until = until or today
    since = since or until - dt.timedelta(days=29)
    if since > until:
        raise UserError("from must be on or before to.")
    if (until - since).days >= MAX_RANGE_DAYS:
        raise UserError(f"Choose at most {MAX_RANGE_DAYS} days.")
    found = await steps.costs_by_day(
        deps.db.reader, _start(since), _start(until) + 86400, place=grant.place
    )
    rows = tuple(
        CostRow(r["day"], r["persona"], r["provider"], float(r["cost"]), int(r["unknown"]))
        for r in found
    )
    per_day: dict[str, float] = {}
    for row in rows:
        per_day[row.day] = per_day.get(row.day, 0.0) + row.cost
    days = [since + dt.timedelta(days=n) for n in range((until - since).days + 1)]
    by_day = tuple((d.isoformat(), per_day.get(d.isoformat(), 0.0)) for d in days)
    return CostsPage(since, until, rows, by_day, sum(r.cost for r in rows))
