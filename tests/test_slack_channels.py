"""Slack channels the bot is not in, and thread replies also sent to the channel: the bot in HTTP
mode against the fake Slack, which models channel membership."""

from __future__ import annotations

from storage import plans
from tests.fakes.slack import FakeMessage, FakeSlack
from tests.slack_support import (
    CHANNEL,
    PROPOSER,
    Bot,
    eventually,
    header,
)

NOT_IN = "⚠ I'm not in this channel: invite me with /invite @draftroom, then try again."


def plan_cards(fake: FakeSlack, channel: str) -> list[FakeMessage]:
    return [
        m
        for m in fake.messages(channel, user=fake.bot_user_id)
        if header(m).startswith("plan ") and not m.is_reply
    ]


def private_answers(fake: FakeSlack) -> list[str]:
    """What the bot answered through slash commands' response_urls, visible to the asker only."""
    return [
        str(p.body.get("text"))
        for p in fake.response_url_posts
        if p.body.get("response_type") == "ephemeral"
    ]


async def test_a_private_channel_the_bot_is_not_in_gets_an_invite_hint(
    bot: Bot, fake: FakeSlack
) -> None:
    fake.create_channel("CSECRET", member=False, is_private=True)
    assert await bot.command("/propose", "an idea", channel="CSECRET") == 200
    await bot.settle()
    assert [NOT_IN in text for text in private_answers(fake)] == [True]
    assert fake.messages("CSECRET") == [] and fake.ephemerals == []

    fake.invite_bot("CSECRET")  # what /invite @draftroom does
    assert await bot.command("/propose", "an idea", channel="CSECRET") == 200
    await bot.settle()
    assert len(plan_cards(fake, "CSECRET")) == 1
    assert len(private_answers(fake)) == 1


async def test_a_public_channel_the_bot_is_not_in_gets_the_hint(bot: Bot, fake: FakeSlack) -> None:
    fake.create_channel("CPUBLIC", member=False)
    assert await bot.command("/propose", "an idea", channel="CPUBLIC") == 200
    await bot.settle()
    assert [NOT_IN in text for text in private_answers(fake)] == [True]
    assert fake.messages("CPUBLIC") == []
    assert "Something went wrong" not in " ".join(private_answers(fake))
    assert await plans.recent_plan_ids(bot.app.room.deps.db.reader, 5) == []  # nothing written
    assert await bot.app.room.deps.db.scalar("SELECT COUNT(*) FROM steps") == 0  # or spent


async def test_a_reply_also_sent_to_the_channel_refines_the_plan(bot: Bot, fake: FakeSlack) -> None:
    assert await bot.command("/propose", "an idea") == 200
    await bot.settle()
    [card] = plan_cards(fake, CHANNEL)
    reply = fake.message_event(
        PROPOSER, "make it sharper", CHANNEL, thread_ts=card.ts, broadcast=True
    )
    assert reply["event"]["subtype"] == "thread_broadcast"
    assert await bot.event(reply) == 200
    await eventually(
        lambda: any("revision 2" in header(m) for m in fake.messages(CHANNEL, thread_ts=card.ts))
    )
    await eventually(lambda: "(revision 2)" in header(card))
    plan = await plans.get_plan(bot.app.room.deps.db.reader, 1)
    assert plan is not None and plan.current_rev == 2
