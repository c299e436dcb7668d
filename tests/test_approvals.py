"""Approval rules: who counts, how many, withdrawal, regeneration, repeated events."""

from __future__ import annotations

from pathlib import Path

from handlers.ports import APPROVE, REGENERATE, REJECT, ReactionEvent
from storage import chat, posts
from tests.support import ConsoleSession, console_session, make_settings


async def drafted(session: ConsoleSession, special: str = "2 hero_text") -> None:
    await session.type(f'/propose benchmark theater special:"{special}"', user="writer")
    await session.type("/run 1", user="writer")
    await session.settle()


async def draft_message(session: ConsoleSession, post_id: int) -> str:
    link = await chat.latest_message(session.app.room.deps.db.reader, kind="draft", post_id=post_id)
    assert link is not None
    return link.message_id


async def status(session: ConsoleSession, post_id: int) -> str:
    post = await posts.get_post(session.app.room.deps.db.reader, post_id)
    assert post is not None
    return post.status


async def react(
    session: ConsoleSession,
    post_id: int,
    user: str,
    action: str = APPROVE,
    *,
    added: bool = True,
    key: str | None = None,
) -> None:
    message_id = await draft_message(session, post_id)
    event = ReactionEvent("console", "console", message_id, user, action, added, key)
    await session.app.room.reaction(event)
    await session.settle()


async def test_an_approver_publishes_and_others_do_not_count(tmp_path: Path) -> None:
    async with console_session(make_settings(tmp_path, APPROVERS="editor,writer")) as session:
        await drafted(session)
        await react(session, 1, "stranger")
        await react(session, 1, "writer")  # the proposer is an approver, but not of own drafts
        assert await status(session, 1) == "awaiting_approval"
        await react(session, 1, "editor")
        assert await status(session, 1) == "published"
        assert (tmp_path / "outbox" / "post-1" / "post.json").exists()


async def test_self_approval_counts_when_allowed(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, APPROVERS="writer", ALLOW_SELF_APPROVAL="true")
    async with console_session(settings) as session:
        await drafted(session)
        await react(session, 2, "writer")
        assert await status(session, 2) == "published"


async def test_two_approvals_required_and_withdrawal(tmp_path: Path) -> None:
    async with console_session(make_settings(tmp_path, APPROVALS_REQUIRED="2")) as session:
        await drafted(session)
        await react(session, 1, "editor")
        await react(session, 1, "editor")  # the same person twice is still one approval
        assert await status(session, 1) == "awaiting_approval"
        await react(session, 1, "editor", added=False)
        await react(session, 1, "chief")
        assert await status(session, 1) == "awaiting_approval"
        await react(session, 1, "editor")
        assert await status(session, 1) == "published"


async def test_reject_and_regenerate_voids_approvals(tmp_path: Path) -> None:
    async with console_session(make_settings(tmp_path, APPROVALS_REQUIRED="2")) as session:
        await drafted(session)
        await react(session, 1, "editor", REJECT)
        assert await status(session, 1) == "rejected"

        await react(session, 2, "editor")
        first = await draft_message(session, 2)
        await react(session, 2, "chief", REGENERATE)
        post = await posts.get_post(session.app.room.deps.db.reader, 2)
        assert post is not None and post.rev == 2 and post.status == "awaiting_approval"
        assert await draft_message(session, 2) != first
        await react(session, 2, "chief")
        assert await status(session, 2) == "awaiting_approval"  # editor's ✅ was for draft 1
        # A reaction on the old draft message does not count either.
        event = ReactionEvent("console", "console", first, "editor", APPROVE, True)
        await session.app.room.reaction(event)
        assert await status(session, 2) == "awaiting_approval"


async def test_a_repeated_event_has_one_effect(tmp_path: Path) -> None:
    async with console_session(make_settings(tmp_path)) as session:
        await drafted(session)
        for _ in range(4):
            await react(session, 1, "editor", REGENERATE, key="T1:Ev1")
        post = await posts.get_post(session.app.room.deps.db.reader, 1)
        assert post is not None and post.rev == 2
        # Without a delivery id, a repeated 🔁 lands on the old message and changes nothing.
        message = await draft_message(session, 2)
        for _ in range(3):
            await session.app.room.reaction(
                ReactionEvent("console", "console", message, "editor", REGENERATE, True)
            )
            await session.settle()
        post = await posts.get_post(session.app.room.deps.db.reader, 2)
        assert post is not None and post.rev == 2


async def test_a_restart_on_settled_state_sends_nothing(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    async with console_session(settings) as session:
        await drafted(session)
        await react(session, 1, "editor")
        sent = await session.app.room.deps.db.scalar("SELECT COUNT(*) FROM console_messages")
    async with console_session(settings) as again:
        await again.settle()
        db = again.app.room.deps.db
        assert await db.scalar("SELECT COUNT(*) FROM console_messages") == sent
        assert again.transcript == ""
