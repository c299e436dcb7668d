"""`/schedule`, `/unschedule`, `/posts scheduled`, and holding an approval until its time.

Nothing waits in memory. A post's time is `posts.publish_at`; the claim that starts publishing
refuses a post whose time is ahead (storage/posts.py), and the sweeper publishes approved posts
that have come due, each claimed once, so a restart publishes nothing early or twice.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from handlers import permissions
from handlers.commands import ListScheduled, Schedule, Unschedule
from handlers.deps import Deps
from handlers.numbered import numbered_post
from handlers.ports import Card, Invocation, Reply, Section, UserError
from handlers.publishing import publish_soon
from handlers.schedule_times import lead_s, next_free_slot, read_when, shown
from pipeline.personas import Persona
from storage import plans, posts
from storage import schedule as times
from storage.db import Connection
from storage.models import Post

DAY_S = 86400.0


def expired_refusal(hours: float) -> str:
    """Why a ✅ on an expired draft does not count (handlers/expiry.py expires them)."""
    return f"the draft expired (not approved within {hours:g} hours); 🔁 on it makes a new one"


def persona_of(deps: Deps, handle: str) -> Persona:
    """The post's persona as the personas file has it now; one no longer there keeps UTC and
    the default slots."""
    found = deps.personas.by_handle.get(handle)
    return found or Persona(handle, handle, "", (), "", {})


def zone_of(deps: Deps, handle: str) -> ZoneInfo:
    return persona_of(deps, handle).zone


async def free_slot(deps: Deps, conn: Connection, post: Post, *, after: float) -> float | None:
    taken = await times.taken_times(conn, post.persona, since=after - DAY_S, exclude_post=post.id)
    return next_free_slot(persona_of(deps, post.persona), taken, after=after)


async def _changeable_post(deps: Deps, inv: Invocation, number: int) -> Post:
    """The post if it lives here and this person may change it; else a refusal saying why."""
    post = await numbered_post(deps, number, inv.place)
    plan = await plans.get_plan(deps.db.reader, post.plan_id)
    if plan is None or not await permissions.may_change(deps, inv.who, plan):
        raise UserError(
            f"only the proposer of post {post.number}'s plan, the approvers and the editors can "
            "schedule it; nothing was changed."
        )
    return post


def _cannot_schedule(post: Post) -> str:
    status = post.status.replace("_", " ")
    if post.status in ("publishing", "published"):
        return f"post {post.number} is {status}; its time can no longer change."
    return (
        f"post {post.number} is {status}, so it will not be published; 🔁 on it makes a new draft."
    )


async def schedule(deps: Deps, inv: Invocation, cmd: Schedule) -> Reply:
    post = await _changeable_post(deps, inv, cmd.post_number)
    zone, now = zone_of(deps, post.persona), deps.clock()
    at = read_when(cmd.when, zone, now=now)  # a refused time writes nothing
    if post.status not in times.SCHEDULABLE:
        raise UserError(_cannot_schedule(post))
    async with deps.db.transaction() as conn:
        if at is None:  # `next`: a slot an approval given now would still be in time for
            at = await free_slot(deps, conn, post, after=now + lead_s(post.content_format))
            if at is None:
                raise UserError(f"@{post.persona} has no free slot in the next year.")
        status = await times.set_publish_at(conn, post.id, at, by=inv.who)
        if status is None:  # it moved on since it was read: the row decides
            fresh = await posts.get_post(conn, post.id)
            raise UserError(_cannot_schedule(fresh or post))
    deadline = at - lead_s(post.content_format)
    then = (
        "It is approved, and is published then."
        if status == "approved"
        else f"It is published then if it is approved by {shown(deadline, zone)}; an approval "
        "after that moves it to the next free slot."
    )
    return Reply(
        Card(f"post {post.number} is scheduled for {shown(at, zone)}.", (Section(None, then),))
    )


async def unschedule(deps: Deps, inv: Invocation, cmd: Unschedule) -> Reply:
    post = await _changeable_post(deps, inv, cmd.post_number)
    async with deps.db.transaction() as conn:
        status = await times.clear_publish_at(conn, post.id)
        if status is None:
            fresh = await posts.get_post(conn, post.id) or post
            if await times.publish_time(conn, post.id) is None:
                raise UserError(
                    f"post {post.number} has no time to remove; "
                    f"/schedule {post.number} <when> sets one."
                )
            raise UserError(_cannot_schedule(fresh))
    if status == "approved":
        await publish_soon(deps, post.id)
        then = "It was approved, so it is published now."
    else:
        then = "It is published as soon as it is approved."
    return Reply(Card(f"post {post.number} is no longer scheduled.", (Section(None, then),)))


async def list_scheduled(deps: Deps, inv: Invocation, cmd: ListScheduled) -> Reply:
    persona = None
    if cmd.persona:
        persona = deps.personas.persona(cmd.persona).handle  # an unknown one is refused by name
    found = await times.scheduled_in(deps.db.reader, inv.place, persona=persona)
    if not found:
        return Reply(Card("No posts are scheduled here."))
    lines = [
        f"post {s.number} · @{s.persona} · {shown(s.publish_at, zone_of(deps, s.persona))} · "
        f"{s.content_format} · {s.status.replace('_', ' ')}"
        + (f" · {s.headline}" if s.headline else "")
        for s in found
    ]
    title = f"{len(found)} scheduled post{'s' if len(found) != 1 else ''}, soonest first"
    return Reply(Card(title, (Section(None, "\n".join(lines)),)))


async def hold_for_lead_time(deps: Deps, conn: Connection, post: Post) -> str | None:
    """Inside the transaction that approved `post`: an approval that came less than the lead
    time (5 minutes, 15 for video) before the post's time moves it to the next free slot. What
    to say in the draft's thread, or None when the time stands."""
    at = await times.publish_time(conn, post.id)
    now, lead = deps.clock(), lead_s(post.content_format)
    if at is None or at - now >= lead:
        return None
    moved = await free_slot(deps, conn, post, after=now + lead) or now + lead
    await times.set_publish_at(conn, post.id, moved)
    zone = zone_of(deps, post.persona)
    early = at - now
    late = "after its time" if early <= 0 else f"{_duration(early)} before its time"
    return (
        f"post {post.number} was approved {late}, {shown(at, zone)}; an approval needs "
        f"{round(lead / 60)} minutes, so it moves to the next free slot: {shown(moved, zone)}."
    )


def _duration(seconds: float) -> str:
    return f"{int(seconds)} s" if seconds < 60 else f"{round(seconds / 60)} min"
