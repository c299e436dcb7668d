"""The console adapter: a terminal chat that behaves like one channel.

Every bot message gets an id (`m12`). You type slash commands, react to a message, and reply in
its thread. Piped input works too: at the end of the input the console lets the work it started
reach a resting point (drafts posted, or steps failed with a reason), then exits.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from typing import TextIO

from bot.edits import EditCoalescer
from handlers.ports import (
    EMOJI_ACTION,
    Card,
    Invocation,
    MessageRef,
    ReactionEvent,
    ThreadMessage,
    UserError,
)
from handlers.room import DraftRoom

log = logging.getLogger(__name__)

PLATFORM = "console"
CHANNEL = "console"
LINK_MARK = "↗"
PAGES_OFF = "Pages: off (SHARED_LINKS=false)"
PAGES_UNSERVED = "Pages: none served by this process"
NAMED_ACTIONS = {"approve": "✅", "reject": "❌", "regenerate": "🔁", "ok": "✅", "x": "❌"}

HELP = """Console chat — one channel, messages shown as [m12].
  /propose <idea> [pillar:NAME] [persona:HANDLE] [special:"..."]
  /refine /run /post /posts /costs /ask          the other commands; /help explains each
  react <msg> ✅|❌|🔁      react to a message (also: approve, reject, regenerate)
  unreact <msg> ✅          take a reaction back
  reply <msg> <text>        reply in a message's thread (refines that plan or draft)
  as <name>                 act as another user (approvers: {approvers})
  wait                      wait until running work reaches a resting point
  quit                      leave (unfinished runs resume on the next start)
<msg> is a message id like m12, or `plan 3` / `post 7` for that plan's or post's latest card."""


class ConsolePort:
    """The chat port on a terminal. Messages live in the database so ids survive restarts."""

    platform = PLATFORM

    def __init__(self, room: DraftRoom, out: TextIO) -> None:
        self.room = room
        self.messages = room.console_messages
        self.out = out
        self._edits = EditCoalescer(self._print_edit, interval=1.0)

    def _print(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    async def send(
        self,
        channel_id: str,
        card: Card,
        *,
        thread_id: str | None = None,
        idempotency_key: str | None = None,
        reactions: tuple[str, ...] = (),
    ) -> MessageRef:
        number = await self.messages.add(
            card.plain_text(), thread_id=thread_id, key=idempotency_key
        )
        if number is None:  # posted before under this key: the same message, not a second
            assert idempotency_key is not None
            found = await self.find_sent(channel_id, idempotency_key)
            assert found is not None
            return found
        where = f"[m{number} ↳ {thread_id}]" if thread_id else f"[m{number}]"
        lines = [f"\n{where} {render(card)}", *(f"    image: {image}" for image in card.images)]
        if reactions:
            lines.append(f"    {' '.join(reactions)}")
        await self._show(number, "\n".join(lines))
        return MessageRef(PLATFORM, channel_id, f"m{number}")

    async def _show(self, number: int, shown: str) -> None:
        """Print, then record that it was printed: a kill in between prints it again on the
        next look (twice at worst, never lost; a terminal cannot be asked what it showed)."""
        self._print(shown)
        await self.messages.printed(number, shown)

    async def edit(self, ref: MessageRef, card: Card) -> None:
        # A terminal has no rate limit, but a reader has: one edit a second per message, the
        # latest card winning, like Slack.
        await self._edits.edit((ref.channel_id, ref.message_id), card)

    async def _print_edit(self, message: tuple[str, str], card: Card) -> None:
        self._print(f"[{message[1]} edited] {render(card)}")

    async def find_sent(
        self, channel_id: str, idempotency_key: str, *, thread_id: str | None = None
    ) -> MessageRef | None:
        unprinted = await self.messages.unprinted(idempotency_key)
        if unprinted is not None:
            number, text = unprinted
            await self._show(number, f"\n[m{number}] {text}")
        found = await self.messages.by_key(idempotency_key)
        return None if found is None else MessageRef(PLATFORM, channel_id, f"m{found}")

    async def notify(
        self, channel_id: str, user_id: str, text: str, *, thread_id: str | None = None
    ) -> None:
        self._print(f"\n[only {user_id} sees this] {text}")

    def message_url(self, ref: MessageRef, *, thread_id: str | None = None) -> str | None:
        return None  # a terminal has no link to a message


def render(card: Card) -> str:
    lines = [card.title]
    for section in card.sections:
        if section.heading:
            lines.append(f"  {section.heading}")
        lines.extend(f"    {line}" if line else "" for line in section.text.splitlines())
    if card.footer:
        lines.append(f"  {card.footer}")
    lines.extend(f"  {LINK_MARK} {' '.join(link.label.split())}: {link.url}" for link in card.links)
    return "\n".join(lines)


_REF = re.compile(r"^(?:m(\d+)|(plan|post)\s*#?(\d+))\s*", re.IGNORECASE)


class Console:
    def __init__(self, room: DraftRoom, *, user: str, approvers: list[str], out: TextIO) -> None:
        self.room = room
        self.user = user
        self.approvers = approvers
        self.port = ConsolePort(room, out)
        room.connect(self.port)
        self.out = out

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    async def say_where_the_pages_are(self) -> None:
        """The library's link, so a person (or a piped session's reader) can open the pages."""
        link = await self.room.library_link((PLATFORM, CHANNEL))
        if link is not None:
            self.say(f"Pages: {link.url}")
        else:
            self.say(PAGES_OFF if not self.room.deps.links.enabled else PAGES_UNSERVED)

    async def handle_line(self, line: str) -> bool:
        """Handle one line of input; False means quit. User errors are shown, never raised."""
        line = line.strip()
        if not line or line.startswith("#"):
            return True
        try:
            return await self._dispatch(line)
        except UserError as exc:
            self.say(f"  ⚠ {exc}")
        except Exception:
            log.exception("console line failed: %r", line[:200])
            self.say("  ⚠ something went wrong on our side; it is in the log. Try again.")
        return True

    async def _dispatch(self, line: str) -> bool:
        word, _, rest = line.partition(" ")
        word = word.lower()
        if word in ("quit", "exit"):
            return False
        if word == "help":
            self.say(HELP.format(approvers=", ".join(self.approvers) or "none"))
        elif word == "wait":
            await self.room.wait_idle()
        elif word == "as":
            if not rest.strip():
                raise UserError("as whom? Example: as editor")
            self.user = rest.strip().split()[0]
            self.say(f"  you are now {self.user}")
        elif word in ("react", "unreact"):
            await self._react(rest, added=word == "react")
        elif word == "reply":
            await self._reply(rest)
        elif word.startswith("/"):
            reply = await self.room.command(
                Invocation(PLATFORM, CHANNEL, self.user), word[1:], rest
            )
            if reply is not None:
                self.say(render(reply.card))
        else:
            raise UserError(f"`{word[:30]}` is not a command here; type help.")
        return True

    async def _message_id(self, text: str) -> tuple[str, str]:
        match = _REF.match(text)
        if not match:
            raise UserError("which message? Give an id like m12, or `plan 3` / `post 7`.")
        rest = text[match.end() :].strip()
        if match.group(1):
            return f"m{match.group(1)}", rest
        kind = "plan_card" if match.group(2).lower() == "plan" else "draft"
        key = {"plan_id" if kind == "plan_card" else "post_id": int(match.group(3))}
        link = await self.room.latest_card(PLATFORM, kind, **key)
        if link is None:
            raise UserError(f"there is no card for {match.group(2)} {match.group(3)} here yet.")
        return link.message_id, rest

    async def _react(self, text: str, *, added: bool) -> None:
        message_id, emoji = await self._message_id(text)
        emoji = NAMED_ACTIONS.get(emoji.lower(), emoji).replace("\ufe0f", "")
        if emoji not in EMOJI_ACTION:
            raise UserError("react with ✅, ❌ or 🔁 (or approve, reject, regenerate).")
        await self.room.reaction(
            ReactionEvent(
                PLATFORM, CHANNEL, message_id, self.user, EMOJI_ACTION[emoji], added, emoji=emoji
            )
        )

    async def _reply(self, text: str) -> None:
        message_id, body = await self._message_id(text)
        if not body:
            raise UserError("reply with what? Example: reply m3 make it sharper")
        await self.room.thread_message(
            ThreadMessage(PLATFORM, CHANNEL, message_id, f"{message_id}-reply", self.user, body)
        )


async def run_console(
    room: DraftRoom,
    *,
    user: str,
    approvers: list[str],
    stdin: TextIO = sys.stdin,
    out: TextIO = sys.stdout,
) -> None:
    console = Console(room, user=user, approvers=approvers, out=out)
    await room.start()
    interactive = stdin.isatty()
    if interactive:
        console.say(f"You are {user}. Type help for commands.")
    try:
        await console.say_where_the_pages_are()
        while True:
            if interactive:
                out.write("> ")
                out.flush()
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                break
            if not await console.handle_line(line):
                break
        if not interactive:
            await room.wait_idle()
    finally:
        await room.stop()
