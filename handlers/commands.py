"""The commands, as small dataclasses, and how each is read from chat text.

Every adapter hands the command name and its text to `parse`; the result goes to the handler
table in `handlers.room`. Bad text raises `UserError` with what is wrong and what to do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from handlers.parsing import clean, parse_id, parse_options
from handlers.ports import UserError

PROPOSE_OPTIONS = ("pillar", "persona", "special")
POST_STATUSES = (
    "drafting",
    "awaiting_approval",
    "approved",
    "published",
    "rejected",
    "failed",
    "expired",
)
SCHEDULED = "scheduled"  # `/posts scheduled`: not a status, the posts with a time ahead


@dataclass(frozen=True)
class Propose:
    idea: str
    pillar: str | None = None
    persona: str | None = None
    special: str | None = None


@dataclass(frozen=True)
class Refine:
    plan_number: int  # as people in the workspace call it (not the row's id)
    note: str


@dataclass(frozen=True)
class RunPlan:
    plan_number: int  # as people in the workspace call it (not the row's id)


@dataclass(frozen=True)
class ShowPost:
    post_number: int  # as people in the workspace call it (not the row's id)


@dataclass(frozen=True)
class ListPosts:
    status: str | None = None
    persona: str | None = None


@dataclass(frozen=True)
class ListScheduled:
    persona: str | None = None


@dataclass(frozen=True)
class Schedule:
    post_number: int  # as people in the workspace call it (not the row's id)
    when: str  # as typed: `next`, HH:MM, YYYY-MM-DD HH:MM or ISO (handlers/schedule_times.py)


@dataclass(frozen=True)
class Unschedule:
    post_number: int  # as people in the workspace call it (not the row's id)


@dataclass(frozen=True)
class Costs:
    days: int = 7


@dataclass(frozen=True)
class Ask:
    question: str


@dataclass(frozen=True)
class ShowQueue:
    # The channels the person can see, as the adapter knows them (Discord: the server's channels
    # they may view); empty means the channel the command was given in.
    places: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ListLinks:
    pass


@dataclass(frozen=True)
class Revoke:
    link: str  # the link as pasted, its token, or its number from /links


@dataclass(frozen=True)
class Help:
    command: str | None = None


Command = (
    Propose
    | Refine
    | RunPlan
    | ShowPost
    | ListPosts
    | ListScheduled
    | Schedule
    | Unschedule
    | Costs
    | Ask
    | ShowQueue
    | ListLinks
    | Revoke
    | Help
)

USAGE = {
    "propose": (
        '/propose <idea> [pillar:NAME] [persona:HANDLE] [special:"..."]',
        "Plan a batch from an idea. Options go at the end, after the idea, with no space "
        "after the colon. special: sets the batch, e.g. "
        "special:\"Generate exactly 5 items: 1 with content_format='video' and 4 with "
        "content_format='hero_text'.\"",
    ),
    "refine": (
        "/refine <plan> <note>",
        "Revise a plan; replying in the plan's thread does too. "
        'special:"..." at the end of the note changes the batch.',
    ),
    "run": ("/run <plan>", "Run the pipeline for a plan (✅ on the plan card does too)."),
    "post": ("/post <post>", "Show a post card: plan, body, caption, pipeline, chat references."),
    "posts": (
        "/posts [status] [persona]",
        f"Recent posts. Statuses: {', '.join(POST_STATUSES)}; "
        "or scheduled: the posts with a time ahead, soonest first.",
    ),
    "schedule": (
        "/schedule <post> <when>",
        "Publish a post at a time: next (the persona's next free slot), HH:MM or "
        "YYYY-MM-DD HH:MM in the persona's time zone, or ISO with an offset. An approved post "
        "waits for its time.",
    ),
    "unschedule": (
        "/unschedule <post>",
        "Remove a post's time: an approved post is published at once, one waiting for approval "
        "as soon as it is approved.",
    ),
    "costs": ("/costs [days]", "Spend by day, persona and provider (default 7 days)."),
    "ask": ("/ask <question>", "Ask the post library; the answer names the posts it used."),
    "queue": ("/queue", "The drafts waiting for your approval, and yours waiting for others."),
    "links": ("/links", "The live links to this channel's web pages, numbered for /revoke."),
    "revoke": (
        "/revoke <link or number>",
        "Stop a link to a web page working (yours, or any as an approver).",
    ),
    "help": ("/help [command]", "This list."),
}

REACTIONS_HELP = (
    "On a draft: ✅ approve, ❌ reject, 🔁 regenerate (approvers only; removing ✅ withdraws). "
    "Reply in a plan's or draft's thread to refine it."
)


def help_text(command: str | None = None) -> str:
    if command and command in USAGE:
        usage, about = USAGE[command]
        return f"{usage}\n{about}"
    lines = [f"{usage} — {about}" for usage, about in USAGE.values()]
    return "\n".join([*lines, REACTIONS_HELP])


def parse(name: str, text: str, *, max_chars: int) -> Command:
    name = name.lstrip("/").lower()
    if name not in USAGE:
        raise UserError(f"there is no /{name[:30]} command. {help_text()}")
    text = clean(text)
    if text.lower() in ("help", "-h", "--help", "?"):
        return Help(name)
    if len(text) > max_chars:
        raise UserError(
            f"that is {len(text)} characters; /{name} takes at most {max_chars}. Shorten it."
        )
    usage = USAGE[name][0]
    if name == "propose":
        idea, options = parse_options(text, PROPOSE_OPTIONS, command="/propose")
        if not idea:
            raise UserError(f"the idea is empty. Usage: {usage}")
        return Propose(idea, options.get("pillar"), options.get("persona"), options.get("special"))
    if name == "refine":
        plan, _, note = text.partition(" ")
        if not plan or not note.strip():
            raise UserError(f"give the plan and a note. Usage: {usage}")
        return Refine(parse_id(plan, "plan"), note.strip())
    if name == "run":
        if not text:
            raise UserError(f"which plan? Usage: {usage}")
        return RunPlan(parse_id(text, "plan"))
    if name == "post":
        if not text:
            raise UserError(f"which post? Usage: {usage}")
        return ShowPost(parse_id(text, "post"))
    if name == "posts":
        return _parse_posts(text)
    if name == "schedule":
        post, _, when = text.partition(" ")
        if not post or not when.strip():
            raise UserError(f"give the post and a time. Usage: {usage}")
        return Schedule(parse_id(post, "post"), when.strip())
    if name == "unschedule":
        if not text:
            raise UserError(f"which post? Usage: {usage}")
        return Unschedule(parse_id(text, "post"))
    if name == "costs":
        return _parse_costs(text)
    if name == "ask":
        if not text:
            raise UserError(f"the question is empty. Usage: {usage}")
        return Ask(text)
    if name == "queue":
        if text:
            raise UserError(f"/queue takes nothing after it. Usage: {usage}")
        return ShowQueue()
    if name == "links":
        if text:
            raise UserError(f"/links takes nothing after it. Usage: {usage}")
        return ListLinks()
    if name == "revoke":
        if not text:
            raise UserError(f"which link? Paste it or give its number from /links. Usage: {usage}")
        return Revoke(text)
    return Help(text.lower() or None)


def checked(cmd: Command, *, max_chars: int) -> Command:
    """A command built from typed options (Discord) held to the same rules as parsed text:
    invisible characters dropped, nothing empty that must not be, nothing over the limit, ids and
    days as text would allow them, and no option of a type other than its own."""
    if isinstance(cmd, Propose):
        idea = _required(cmd.idea, "idea", "propose", max_chars)
        pillar, persona, special = (
            _optional(v, "propose", max_chars) for v in (cmd.pillar, cmd.persona, cmd.special)
        )
        return Propose(idea, pillar, persona, special)
    if isinstance(cmd, Refine):
        return Refine(
            _id(cmd.plan_number, "plan"), _required(cmd.note, "note", "refine", max_chars)
        )
    if isinstance(cmd, RunPlan):
        return RunPlan(_id(cmd.plan_number, "plan"))
    if isinstance(cmd, ShowPost):
        return ShowPost(_id(cmd.post_number, "post"))
    if isinstance(cmd, ListPosts):
        status, persona = (_optional(v, "posts", max_chars) for v in (cmd.status, cmd.persona))
        if status == SCHEDULED:
            return ListScheduled(persona)
        return ListPosts(_known_status(status), persona)
    if isinstance(cmd, Schedule):
        when = _required(cmd.when, "time", "schedule", max_chars)
        return Schedule(_id(cmd.post_number, "post"), when)
    if isinstance(cmd, Unschedule):
        return Unschedule(_id(cmd.post_number, "post"))
    if isinstance(cmd, Costs):
        return _parse_costs(str(cmd.days))
    if isinstance(cmd, Ask):
        return Ask(_required(cmd.question, "question", "ask", max_chars))
    if isinstance(cmd, Revoke):
        return Revoke(_required(cmd.link, "link", "revoke", max_chars))
    return cmd


def _text(value: object, command: str, max_chars: int) -> str:
    if not isinstance(value, str):
        raise UserError(f"/{command} takes text there. Usage: {USAGE[command][0]}")
    text = clean(value)
    if len(text) > max_chars:
        raise UserError(
            f"that is {len(text)} characters; /{command} takes at most {max_chars}. Shorten it."
        )
    return text


def _required(value: object, what: str, command: str, max_chars: int) -> str:
    text = _text(value, command, max_chars)
    if not text:
        raise UserError(f"the {what} is empty. Usage: {USAGE[command][0]}")
    return text


def _optional(value: object, command: str, max_chars: int) -> str | None:
    return None if value is None else _text(value, command, max_chars) or None


def _id(value: object, kind: str) -> int:
    """An id option read as its text would be: `12` and `"12"` pass; -1, 10**12, 1.5 do not."""
    return parse_id(str(value), kind)


def _parse_posts(text: str) -> ListPosts | ListScheduled:
    free, options = parse_options(text, ("status", "persona"), command="/posts", prose=None)
    status, persona = options.get("status"), options.get("persona")
    for word in free.split():
        if ":" in word:
            raise UserError(
                f"`{word[:30]}` is not a status or a persona; options such as status:published "
                f"go after the other words. Usage: {USAGE['posts'][0]}"
            )
        if word.lower() in (*POST_STATUSES, SCHEDULED) and status is None:
            status = word.lower()
        elif persona is None:
            persona = word.lstrip("@").lower()
        else:
            raise UserError(f"unexpected `{word[:30]}`. Usage: {USAGE['posts'][0]}")
    if status == SCHEDULED:
        return ListScheduled(persona)
    return ListPosts(_known_status(status), persona)


def _known_status(status: str | None) -> str | None:
    if status is not None and status not in POST_STATUSES:
        raise UserError(f"unknown status `{status[:30]}`; use one of {', '.join(POST_STATUSES)}.")
    return status


def _parse_costs(text: str) -> Costs:
    if not text:
        return Costs()
    if not re.fullmatch(r"[0-9]{1,3}", text) or not 1 <= int(text) <= 366:
        raise UserError(f"days must be a whole number from 1 to 366, not `{text[:30]}`.")
    return Costs(int(text))
