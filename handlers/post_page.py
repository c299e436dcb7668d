"""The post page: the seed's post page as data, section by section in the seed's order, for the
web adapter to render. Nothing here writes."""

from __future__ import annotations

import difflib
import itertools
import json
import mimetypes
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from handlers import cards
from handlers.deps import Deps
from handlers.links import Grant
from handlers.ports import UserError
from pipeline.fit import title_of
from pipeline.spec import STEP_TITLES
from storage import chat, plans, posts, publication_targets, steps, variants
from storage.models import Post, PostRevision, Step

VIDEO_TYPES = ("video/mp4", "video/webm", "video/quicktime")
POSTER_STEPS = ("poster_frame", "hero_card", "hero_image")

# (post id, file name) -> the URL the page shows for the file; the web adapter knows its routes.
MediaUrl = Callable[[int, str], str]


class PageNotFoundError(UserError):
    """Nothing of that id that this link may open; reads as no such thing."""


@dataclass(frozen=True)
class StepRow:
    number: int
    title: str
    status: str
    via: str  # provider · model
    artifact: str | None
    artifact_url: str | None
    cost: str | None
    latency: str | None
    at: str | None
    attempts: int
    error: str | None


@dataclass(frozen=True)
class Media:
    title: str
    url: str
    content_type: str
    poster_url: str | None = None

    @property
    def is_video(self) -> bool:
        return self.content_type.startswith("video/")


@dataclass(frozen=True)
class Reference:
    platform: str
    channel: str
    at: str
    how: str
    text: str
    url: str | None


@dataclass(frozen=True)
class Change:
    field: str
    # ("same" | "del" | "ins", text) runs, in order
    runs: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Revision:
    rev: int
    at: str
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class PostPage:
    post_id: int
    persona: str
    headline: str
    status_line: str
    pillar: str
    angle: str
    rationale: str
    special_message: str
    body: str
    caption: str
    video_script: str
    media: tuple[Media, ...]
    steps: tuple[StepRow, ...]
    references: tuple[Reference, ...]
    revisions: tuple[Revision, ...]
    run_id: int
    plan_id: int
    number: int  # as people in its workspace call it (`post_id` is its key, in URLs)
    plan_number: int
    run_number: int
    # (name, state as shown, the live post's URL, the last error), one per destination
    destinations: tuple[tuple[str, str, str | None, str | None], ...] = ()
    # ("For X", its text), one per network the caption was rewritten for
    variants: tuple[tuple[str, str], ...] = ()


def content_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


async def visible_post(deps: Deps, grant: Grant, post_id: int) -> Post:
    post = await posts.post_in(deps.db.reader, post_id, grant.place)
    if post is None or not grant.opens("post", post.id, plan_id=post.plan_id, run_id=post.run_id):
        raise PageNotFoundError("There is no such post here.")
    return post


async def post_page(deps: Deps, grant: Grant, post_id: int, media_url: MediaUrl) -> PostPage:
    reader = deps.db.reader
    post = await visible_post(deps, grant, post_id)
    plan = await plans.get_plan(reader, post.plan_id)
    revision = await plans.get_revision(reader, post.plan_id, post.plan_rev)
    assert plan is not None and revision is not None
    done = await steps.steps_of_post(reader, post.id, post.rev)
    refs = await chat.references_to(reader, post.id)
    run = await plans.get_run(reader, post.run_id)
    return PostPage(
        post_id=post.id,
        persona=post.persona,
        headline=post.headline,
        status_line=cards.status_line_of(post, done, now=deps.clock()),
        pillar=plan.pillar,
        angle=revision.angle,
        rationale=revision.rationale,
        special_message=revision.special_message,
        body=post.body,
        caption=post.caption,
        video_script=post.video_script,
        media=_media(done, lambda name: media_url(post.id, name)),
        steps=tuple(
            _step_row(i, s, media_url(post.id, s.artifact) if s.artifact else None)
            for i, s in enumerate(done, 1)
        ),
        references=tuple(
            Reference(r.platform, r.channel_id, cards.when(r.created_at), r.how, r.text, r.url)
            for r in refs
        ),
        revisions=tuple(_revisions(await posts.revisions_of(reader, post.id))),
        run_id=post.run_id,
        plan_id=post.plan_id,
        number=post.number,
        plan_number=plan.number,
        run_number=run.number if run else post.run_id,
        destinations=tuple(
            (t.name, cards.destination_state(t), t.url, t.last_error)
            for t in await publication_targets.targets_of(reader, post.id, post.rev)
        ),
        variants=tuple(
            (f"For {title_of(kind)}", text)
            for kind, text in (await variants.variants_of(reader, post.id, post.rev)).items()
        ),
    )


async def media_file(deps: Deps, grant: Grant, post_id: int, name: str) -> Path:
    """A file of this post's steps, in the media folder, by its stored name: no other name, and
    no path outside the folder, is ever served."""
    post = await visible_post(deps, grant, post_id)
    names = await steps.artifacts_of_post(deps.db.reader, post.id)
    folder = deps.media.folder.resolve()
    path = (folder / name).resolve()
    if name not in names or path.parent != folder or not path.is_file():
        raise PageNotFoundError(f"Post {post.number} has no file {name[:80]!r}.")
    return path


def _step_row(number: int, step: Step, artifact_url: str | None) -> StepRow:
    finished = step.status in ("done", "failed")
    cost = None
    if finished and (step.cost_usd is not None or not step.cost_known):
        cost = cards.money(step.cost_usd if step.cost_known else None)
    return StepRow(
        number=number,
        title=STEP_TITLES.get(step.name, step.name),
        status=step.status,
        via=" · ".join(p for p in (step.provider, step.model) if p),
        artifact=step.artifact,
        artifact_url=artifact_url,
        cost=cost,
        latency=f"api {step.latency_s:.1f}s" if step.latency_s is not None else None,
        at=cards.when(step.ended_at) if step.ended_at else None,
        attempts=step.attempts,
        error=step.error if step.status in ("failed", "skipped") else None,
    )


def _media(done: list[Step], url: Callable[[str], str]) -> tuple[Media, ...]:
    by_name = {s.name: s for s in done if s.status == "done" and s.artifact}
    poster = next((by_name[n].artifact for n in POSTER_STEPS if n in by_name), None)
    found = []
    for step in by_name.values():
        artifact = str(step.artifact)
        kind = content_type(artifact)
        if kind.startswith("video/"):
            own = json.loads(step.output_json or "{}").get("poster")
            shown = own if isinstance(own, str) and own else poster
            found.append(
                Media(
                    STEP_TITLES.get(step.name, step.name),
                    url(artifact),
                    kind,
                    url(shown) if shown else None,
                )
            )
        elif kind.startswith("image/"):
            found.append(Media(STEP_TITLES.get(step.name, step.name), url(artifact), kind))
    return tuple(found)


def _revisions(found: list[PostRevision]) -> list[Revision]:
    """Each revision after the first, newest first, with what changed from the one before."""
    shown = []
    for before, after in itertools.pairwise(found):
        changes = tuple(
            Change(field, _diff(getattr(before, field), getattr(after, field)))
            for field in ("headline", "body", "caption", "video_script")
            if getattr(before, field) != getattr(after, field)
        )
        shown.append(Revision(after.rev, cards.when(after.created_at), changes))
    if found:
        shown.append(Revision(found[0].rev, cards.when(found[0].created_at), ()))
    return shown[::-1]


def _diff(old: str, new: str) -> tuple[tuple[str, str], ...]:
    a, b = old.split(" "), new.split(" ")
    runs: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            runs.append(("same", " ".join(a[i1:i2])))
            continue
        if i2 > i1:
            runs.append(("del", " ".join(a[i1:i2])))
        if j2 > j1:
            runs.append(("ins", " ".join(b[j1:j2])))
    return tuple(runs)
