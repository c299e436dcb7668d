"""Conversation turns: every user and bot message of a conversation, and the posts bot turns
referenced (named, refined, answered from, cited as the closest recent post)."""

from __future__ import annotations

from collections.abc import Iterable

from handlers.deps import Deps
from handlers.ports import Card, Invocation, MessageRef
from storage import chat
from storage.db import Connection


async def add_user_turn(
    conn: Connection, deps: Deps, inv: Invocation, text: str, plan_id: int | None = None
) -> None:
    """Inside the transaction that records what the turn did."""
    await chat.add_turn(
        conn,
        platform=inv.platform,
        channel_id=inv.channel_id,
        thread_id=inv.thread_id,
        message_id=inv.message_id,
        role="user",
        author=inv.user_id,
        text=text,
        now=deps.clock(),
        plan_id=plan_id,
    )


async def log_user_turn(deps: Deps, inv: Invocation, text: str, plan_id: int | None = None) -> None:
    async with deps.db.transaction() as conn:
        await add_user_turn(conn, deps, inv, text, plan_id)


async def add_bot_turn(
    conn: Connection,
    deps: Deps,
    ref: MessageRef,
    text: str,
    *,
    thread_id: str | None = None,
    refs: Iterable[tuple[int, str]] = (),
    plan_id: int | None = None,
) -> None:
    """A bot message as a turn, with the posts it referenced; inside a caller's transaction."""
    url = None
    if ref.platform in deps.ports:
        url = deps.ports.get(ref.platform).message_url(ref, thread_id=thread_id)
    turn_id = await chat.add_turn(
        conn,
        platform=ref.platform,
        channel_id=ref.channel_id,
        thread_id=thread_id,
        message_id=ref.message_id,
        role="bot",
        author="draftroom",
        text=text,
        now=deps.clock(),
        plan_id=plan_id,
        url=url,
    )
    for post_id, how in refs:
        await chat.add_reference(conn, turn_id, post_id, how)


async def log_bot_turn(
    deps: Deps,
    ref: MessageRef,
    text: str,
    *,
    thread_id: str | None = None,
    refs: Iterable[tuple[int, str]] = (),
    plan_id: int | None = None,
) -> None:
    async with deps.db.transaction() as conn:
        await add_bot_turn(conn, deps, ref, text, thread_id=thread_id, refs=refs, plan_id=plan_id)


async def say(
    deps: Deps,
    platform: str,
    channel_id: str,
    card: Card,
    *,
    thread_id: str | None = None,
    refs: Iterable[tuple[int, str]] = (),
    plan_id: int | None = None,
) -> MessageRef:
    """Post a bot message and log it as a turn, with the posts it referenced."""
    ref = await deps.port(platform).send(channel_id, card, thread_id=thread_id)
    await log_bot_turn(
        deps, ref, card.plain_text(), thread_id=thread_id, refs=refs, plan_id=plan_id
    )
    return ref
