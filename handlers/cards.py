"""Cards: what the bot shows. Pure functions from stored records to platform-neutral `Card`s.

The post card follows the seed post page, section by section, in the same order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from handlers.ports import Card, Section
from pipeline.destinations.outlets import LEGACY_KINDS
from pipeline.fit import title_of
from pipeline.spec import STEP_TITLES
from storage.models import ChatReference, Plan, PlanRevision, Post, Publication, Step
from storage.publication_targets import Target

NO_REFERENCES = "No bot turns have referenced this post yet."


def when(ts: float) -> str:
    """`May 11, 5:53 PM` in the server's local time."""
    moment = datetime.fromtimestamp(ts).astimezone()
    hour = moment.strftime("%I").lstrip("0") or "12"
    return f"{moment.strftime('%b')} {moment.day}, {hour}:{moment.strftime('%M %p')}"


def age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def money(value: float | None) -> str:
    return "cost unknown" if value is None else f"${value:.2f}"


def status_words(status: str) -> str:
    return status.replace("_", " ")


def total_cost(steps: Sequence[Step]) -> tuple[float, int]:
    """The known cost of the steps, and how many finished steps have an unknown cost."""
    known = sum(s.cost_usd or 0.0 for s in steps)
    unknown = sum(1 for s in steps if s.status == "done" and not s.cost_known)
    return known, unknown


def step_line(number: int, step: Step) -> str:
    title = STEP_TITLES.get(step.name, step.name)
    head = f"{number}. {title} {step.status}"
    if step.provider:
        head += f" {step.provider}"
    parts = [head]
    if step.model:
        parts.append(step.model)
    if step.artifact:
        parts.append(step.artifact)
    if step.status in ("done", "failed") and (step.cost_usd is not None or not step.cost_known):
        parts.append(money(step.cost_usd if step.cost_known else None))
    if step.latency_s is not None:
        parts.append(f"api {step.latency_s:.1f}s")
    if step.attempts > 1:
        parts.append(f"{step.attempts} attempts")
    if step.ended_at:
        parts.append(when(step.ended_at))
    if step.error and step.status in ("failed", "skipped"):
        parts.append(step.error)
    return " · ".join(parts)


def reference_line(ref: ChatReference) -> str:
    excerpt = " ".join(ref.text.split())
    if len(excerpt) > 100:
        excerpt = excerpt[:99].rsplit(" ", 1)[0] + "…"
    return f"{when(ref.created_at)} · {ref.platform} {ref.channel_id} · {ref.how} · “{excerpt}”"


def status_line_of(post: Post, steps: Sequence[Step], *, now: float) -> str:
    """`published · May 11, 5:53 PM · $0.06 total · published 48d ago`, as on the seed."""
    cost, unknown = total_cost(steps)
    total = f"{money(cost)} total" + (f" (+{unknown} unknown)" if unknown else "")
    status = status_words(post.status)
    return (
        f"{status} · {when(post.status_changed_at)} · {total} · "
        f"{status} {age(now - post.status_changed_at)} ago"
    )


def post_card(
    post: Post,
    plan: Plan,
    revision: PlanRevision,
    steps: Sequence[Step],
    refs: Sequence[ChatReference],
    *,
    now: float,
    published: Publication | None = None,
    destinations: Sequence[Target] = (),
) -> Card:
    status_line = status_line_of(post, steps, now=now)
    if published is not None and published.published_at is not None:
        status_line += f" · revision {published.rev or post.rev} went out to {published.target}"
        if published.location:
            status_line += f" ({published.location})"
    plan_text = (
        f"planner {plan.pillar}\n\n{revision.angle}\n\n{revision.rationale}\n\n"
        f"special_message: {revision.special_message}"
    )
    # The install's own publisher alone reads as before, on the status line.
    networked = len(destinations) > 1 or any(
        t.destination not in LEGACY_KINDS for t in destinations
    )
    sections = [
        Section(None, status_line),
        *([Section("Destinations", destination_lines(destinations))] if networked else []),
        Section("Plan (drafter input)", plan_text),
        Section("Body", post.body or "(not drafted yet)"),
        Section("Caption", post.caption or "(not drafted yet)"),
    ]
    if post.video_script:
        sections.append(Section("Video script", post.video_script))
    pipeline = "\n".join(step_line(i, s) for i, s in enumerate(steps, 1)) or "No steps yet."
    sections.append(Section("Pipeline", pipeline))
    references = "\n".join(reference_line(r) for r in refs) or NO_REFERENCES
    sections.append(Section("Chat References", references))
    title = f"@{post.persona} · post {post.number}"
    if post.headline:
        title += f" · {post.headline}"
    return Card(title=title, sections=tuple(sections), more=f"/post {post.number}")


def destination_state(target: Target) -> str:
    if target.state == "pending" and target.attempts:
        return f"retrying (tried {target.attempts}×)"
    return target.state


def destination_lines(found: Sequence[Target]) -> str:
    """One line per destination: its name, state, and the live post's link or the error."""
    lines = []
    for target in found:
        line = f"{target.name} · {destination_state(target)}"
        if target.url and target.state == "published":
            line += f" · {target.url}"
        elif target.last_error:
            line += f" · {target.last_error}"
        lines.append(line)
    return "\n".join(lines)


def planning_card(plan_number: int, persona: str, pillar: str, idea: str) -> Card:
    """The plan card's place while the planner writes it: the same title (Discord names the
    card's thread after it), the idea, and a word that the plan is coming."""
    return Card(
        title=f"plan {plan_number} · @{persona} · {pillar}",
        sections=(Section("Idea", idea), Section(None, "Planning…")),
        opens_thread=True,
    )


def plan_card(plan: Plan, revision: PlanRevision, spec_description: str) -> Card:
    rev = f" (revision {revision.rev})" if revision.rev > 1 else ""
    return Card(
        title=f"plan {plan.number}{rev} · @{plan.persona} · {plan.pillar}",
        sections=(
            Section("Idea", plan.idea),
            Section("Plan (drafter input)", f"{revision.angle}\n\n{revision.rationale}"),
            Section("Batch", f"{spec_description}\nspecial_message: {revision.special_message}"),
        ),
        footer=(
            f"✅ or /run {plan.number} runs it · reply in this thread or "
            f"/refine {plan.number} <note> to revise it"
        ),
        opens_thread=True,
    )


def draft_card(
    post: Post,
    images: Sequence[Path],
    *,
    expired: str | None = None,
    variants: Mapping[str, str] | None = None,
) -> Card:
    """`expired`: why the draft can no longer be approved, said first on its card. `variants`:
    the caption rewritten for each network it did not fit, by kind, shown after it."""
    sections = [Section(None, post.headline), Section("Body", post.body)]
    if expired:
        sections.insert(0, Section("Expired", expired))
    sections.append(Section("Caption", post.caption))
    for kind, text in (variants or {}).items():
        sections.append(Section(f"For {title_of(kind)}", text))
    if post.video_script:
        sections.append(Section("Video script", post.video_script))
    actions = "🔁 regenerate" if expired else "✅ approve · ❌ reject · 🔁 regenerate"
    title = f"post {post.number} · @{post.persona} · {post.content_format} · draft {post.rev}"
    return Card(
        title=title + (" · expired" if expired else ""),
        sections=tuple(sections),
        footer=f"{actions} · reply in this thread to revise · /post {post.number}",
        images=tuple(images),
        more=f"/post {post.number}",
        opens_thread=True,
    )


def failed_item_card(post: Post) -> Card:
    return Card(
        title=f"post {post.number} · @{post.persona} · {post.content_format} · failed",
        sections=(Section(None, post.error or "a step failed"),),
        footer=f"🔁 retries it · /post {post.number} shows every step",
        opens_thread=True,
    )


def progress_card(
    run_number: int,
    plan_number: int,
    items: Sequence[tuple[Post, Sequence[Step]]],
    *,
    run_status: str,
    error: str | None,
    unposted: Mapping[int, str] | None = None,
) -> Card:
    """`unposted`: drafts whose message failed to post, by post id, with the reason."""
    lines = []
    for post, steps in items:
        marks = " · ".join(f"{STEP_TITLES.get(s.name, s.name)} {_mark(s.status)}" for s in steps)
        lines.append(
            f"post {post.number} {post.content_format}: {status_words(post.status)} — {marks}"
        )
        if unposted and post.id in unposted:
            lines.append(f"  draft not posted yet ({unposted[post.id]}); retrying")
    ready = sum(1 for post, _ in items if post.status not in ("drafting",))
    if not items:
        body = "drafting the batch…" if run_status in ("queued", "running") else ""
    else:
        body = "\n".join(lines)
    if error:
        body = f"{body}\nRun failed: {error}".strip()
    title = f"run {run_number} · plan {plan_number} · {run_status}"
    if items:
        title += f" · {ready}/{len(items)} items finished"
    return Card(title=title, sections=(Section(None, body or "…"),))


def _mark(status: str) -> str:
    return {"done": "✓", "failed": "✗", "skipped": "–", "running": "…", "queued": "·"}.get(
        status, status
    )


def posts_list(rows: Sequence[tuple[Post, float]], *, now: float) -> Card:
    if not rows:
        return Card("No posts match.")
    lines = [
        f"post {p.number} · @{p.persona} · {p.content_format} · {status_words(p.status)} · "
        f"{money(cost)} · {age(now - p.created_at)} ago"
        for p, cost in rows
    ]
    return Card(f"{len(rows)} recent posts", (Section(None, "\n".join(lines)),))


def costs_card(rows: Sequence[dict[str, Any]], days: int) -> Card:
    if not rows:
        return Card(f"No spend in the last {days} days.")
    total = sum(float(r["cost"]) for r in rows)
    lines = [
        f"{r['day']} · @{r['persona']} · {r['provider']} · ${float(r['cost']):.2f}"
        + (f" ({r['unknown']} of unknown cost)" if r["unknown"] else "")
        for r in rows
    ]
    return Card(f"Spend, last {days} days: ${total:.2f}", (Section(None, "\n".join(lines)),))
