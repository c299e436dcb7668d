"""The chat port: what every adapter (console, Slack, Discord) implements, and what it sends in.

Cards are platform-neutral. Each adapter renders them within its own limits (Block Kit, embeds,
terminal text); long text is cut at a word with an ellipsis, the full text one `/post` away.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

# The approval actions, and the emoji the bot offers for them, in order.
APPROVE, REJECT, REGENERATE = "approve", "reject", "regenerate"
ACTION_EMOJI = {APPROVE: "✅", REJECT: "❌", REGENERATE: "🔁"}

# The one table from an emoji (as a character, or by its Slack name) to an approval action. Any
# of a person's approving emoji approves; their approval lasts while one of them remains.
EMOJI_ACTION = {
    "✅": APPROVE,
    "✔": APPROVE,
    "☑": APPROVE,
    "white_check_mark": APPROVE,
    "heavy_check_mark": APPROVE,
    "ballot_box_with_check": APPROVE,
    "❌": REJECT,
    "✖": REJECT,
    "x": REJECT,
    "heavy_multiplication_x": REJECT,
    "negative_squared_cross_mark": REJECT,
    "❎": REJECT,
    "🔁": REGENERATE,
    "🔄": REGENERATE,
    "repeat": REGENERATE,
    "arrows_counterclockwise": REGENERATE,
    "arrows_clockwise": REGENERATE,
    "🔃": REGENERATE,
}


def emoji_name(emoji: str) -> str:
    """The emoji as the table knows it: variation selectors and Slack skin tones dropped."""
    return emoji.split("::", 1)[0].strip(":").replace("\ufe0f", "").replace("\ufe0e", "")


def emoji_action(emoji: str) -> str | None:
    return EMOJI_ACTION.get(emoji_name(emoji))


def qualified_id(platform: str, user_id: str) -> str:
    """`slack:U1`: the identity the core stores and compares (see handlers/people.py)."""
    return f"{platform}:{user_id}"


class UserError(Exception):
    """A refusal the user should read: short, says what is wrong and what to do."""


# What every adapter shows for a refusal and for a failure of ours, so all read alike.
WARNING = "⚠"
SOMETHING_WENT_WRONG = f"{WARNING} Something went wrong on our side; it is in the log. Try again."


def refusal_text(reason: UserError | str) -> str:
    return f"{WARNING} {reason}"


@dataclass(frozen=True)
class Section:
    heading: str | None
    text: str


@dataclass(frozen=True)
class Link:
    """A web page the card names (its post, plan, run, the library), with a signed token in the
    URL. Adapters show each as a link; `plain_text` leaves them out, so logged turns hold none."""

    label: str
    url: str


@dataclass(frozen=True)
class Card:
    title: str
    sections: tuple[Section, ...] = ()
    footer: str | None = None
    images: tuple[Path, ...] = ()
    # Where the rest of a cut text can be read, such as "/post 34".
    more: str | None = None
    # Replies in this card's thread are turns about it (plan and draft cards): platforms that
    # need a thread created for that (Discord) create one when posting it.
    opens_thread: bool = False
    links: tuple[Link, ...] = ()

    def plain_text(self) -> str:
        parts = [self.title]
        for section in self.sections:
            parts.append(f"{section.heading}\n{section.text}" if section.heading else section.text)
        if self.footer:
            parts.append(self.footer)
        return "\n\n".join(p for p in parts if p)


@dataclass(frozen=True)
class MessageRef:
    platform: str
    channel_id: str
    message_id: str


@dataclass(frozen=True)
class Invocation:
    """Who asked, and where: the context every command and thread reply carries."""

    platform: str
    channel_id: str
    user_id: str
    thread_id: str | None = None
    message_id: str | None = None
    # The platform's id of this very request (a Slack trigger_id, a Discord interaction id): a
    # replay of the same request is recognised and does nothing.
    event_key: str | None = None
    # The workspace asked in (`slack:T…`, `discord:<guild>`), whose settings apply; None where
    # the platform has none (the console): the install's own rules.
    workspace: str | None = None

    @property
    def who(self) -> str:
        return qualified_id(self.platform, self.user_id)

    @property
    def place(self) -> tuple[str, str]:
        return (self.platform, self.channel_id)


@dataclass(frozen=True)
class ReactionEvent:
    platform: str
    channel_id: str
    message_id: str
    user_id: str
    action: str  # approve, reject, regenerate
    added: bool
    event_key: str | None = None  # the platform's delivery id, when it has one
    emoji: str = ""  # which emoji (aliases share an action); empty means the action's own
    workspace: str | None = None

    @property
    def who(self) -> str:
        return qualified_id(self.platform, self.user_id)

    @property
    def emoji_key(self) -> str:
        return emoji_name(self.emoji) if self.emoji else self.action


@dataclass(frozen=True)
class ThreadMessage:
    platform: str
    channel_id: str
    thread_id: str  # the message the thread hangs from
    message_id: str
    user_id: str
    text: str
    event_key: str | None = None
    workspace: str | None = None

    @property
    def who(self) -> str:
        return qualified_id(self.platform, self.user_id)


@dataclass(frozen=True)
class Reply:
    """What a command answers to the person who typed it, privately (ephemeral where the
    platform can). What the channel should read, a handler posts itself with `turns.say`,
    which also logs the turn and the posts it referenced."""

    card: Card


class ChatPort(Protocol):
    platform: str

    async def send(
        self,
        channel_id: str,
        card: Card,
        *,
        thread_id: str | None = None,
        idempotency_key: str | None = None,
        reactions: tuple[str, ...] = (),
    ) -> MessageRef:
        """Post a message (and offer reactions on it). With an idempotency key, posting the
        same key again must not create a second message where the platform allows it."""
        ...

    async def edit(self, ref: MessageRef, card: Card) -> None: ...

    async def find_sent(
        self, channel_id: str, idempotency_key: str, *, thread_id: str | None = None
    ) -> MessageRef | None:
        """A message posted earlier with this key (in that thread), if the platform can tell."""
        ...

    async def notify(
        self, channel_id: str, user_id: str, text: str, *, thread_id: str | None = None
    ) -> None:
        """A short note only this person sees (ephemeral where the platform has it)."""
        ...

    def message_url(self, ref: MessageRef, *, thread_id: str | None = None) -> str | None:
        """Where a person opens this message in the platform's own client (a Slack permalink, a
        Discord jump URL), from what the adapter knows already; None where there is none."""
        ...


class ChatPorts:
    """The chat platforms connected in this process, by name. Built empty by the composition
    root; each adapter connects its port when it starts."""

    def __init__(self) -> None:
        self._by_platform: dict[str, ChatPort] = {}
        self._queue_watchers: dict[str, list[Callable[[], None]]] = {}

    def watch_queues(self, platform: str, changed: Callable[[], None]) -> None:
        """Call `changed` (it must return at once) whenever drafts on `platform` that someone
        may act on change: posted, approved, withdrawn, rejected, published. Slack's Home tab
        refreshes on it."""
        self._queue_watchers.setdefault(platform, []).append(changed)

    def queues_changed(self, platform: str) -> None:
        for changed in self._queue_watchers.get(platform, ()):
            changed()

    def connect(self, port: ChatPort) -> None:
        self._by_platform[port.platform] = port

    def __contains__(self, platform: object) -> bool:
        return platform in self._by_platform

    def get(self, platform: str) -> ChatPort:
        try:
            return self._by_platform[platform]
        except KeyError:
            raise UserError(f"{platform} is not connected in this process.") from None
