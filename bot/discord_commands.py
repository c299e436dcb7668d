"""The slash commands: typed options turned into the core's command dataclasses.

Each command hands `run` a function that builds the command, so the interaction is deferred
before anything else happens; the core checks it as it checks parsed text. Typed options are
never turned back into text, so an idea holding `pillar:x` stays part of the idea.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import discord
from discord import app_commands
from discord.app_commands import Choice

from bot import discord_embeds as embeds
from bot.discord_port import PLATFORM
from handlers.commands import (
    POST_STATUSES,
    SCHEDULED,
    USAGE,
    Ask,
    Command,
    Costs,
    Help,
    ListLinks,
    ListPosts,
    Propose,
    Refine,
    Revoke,
    RunPlan,
    Schedule,
    ShowPost,
    ShowQueue,
    Unschedule,
)
from handlers.room import DraftRoom

Interaction = discord.Interaction[Any]
Run = Callable[[Interaction, str, Callable[[], Command]], Awaitable[None]]
F = TypeVar("F", bound=Callable[..., Any])

# Discord refuses a command registration or an autocomplete answer with more choices, or with a
# choice whose name or (string) value is longer: 400 Invalid Form Body.
CHOICES_MAX = 25
CHOICE_NAME_MAX = 100
CHOICE_VALUE_MAX = 100


def name_choices(names: list[str]) -> list[Choice[str]]:
    """A choice for each name that Discord can take as a value (the personas file is checked at
    start-up, so none is left out there); at most 25."""
    fitting = [n for n in names if 0 < embeds.size(n) <= CHOICE_VALUE_MAX]
    return [Choice(name=_label(n), value=n) for n in fitting[:CHOICES_MAX]]


def pick_from(names: list[str], option: str) -> Callable[[F], F]:
    """Choices when Discord allows that many (25), else suggestions as the user types."""
    if len(names) <= CHOICES_MAX:
        return app_commands.choices(**{option: name_choices(names)})

    async def suggest(interaction: Interaction, current: str) -> list[Choice[str]]:
        return name_choices([n for n in names if current.lower() in n.lower()])

    return app_commands.autocomplete(**{option: suggest})


def _label(text: str) -> str:
    """A choice name: on one line, cut at a word to Discord's 100 characters."""
    return embeds.cut(" ".join(text.split()), CHOICE_NAME_MAX) or "…"


def _matches(item_id: int, current: object) -> bool:
    typed = str(current or "").strip().lstrip("#")
    return not typed or str(item_id).startswith(typed)


def place_of(interaction: Interaction) -> tuple[str, str]:
    """Where an interaction happened, as the core scopes it: a thread counts as its channel."""
    channel = interaction.channel
    if isinstance(channel, discord.Thread) and channel.parent_id is not None:
        return (PLATFORM, str(channel.parent_id))
    return (PLATFORM, str(interaction.channel_id))


async def plan_choices(
    room: DraftRoom, current: object, place: tuple[str, str]
) -> list[Choice[int]]:
    return [
        Choice(name=_label(label), value=plan_id)
        for plan_id, label in await room.plan_suggestions(place, CHOICES_MAX)
        if _matches(plan_id, current)
    ]


async def post_choices(
    room: DraftRoom, current: object, place: tuple[str, str]
) -> list[Choice[int]]:
    return [
        Choice(name=_label(label), value=post_id)
        for post_id, label in await room.post_suggestions(place, CHOICES_MAX)
        if _matches(post_id, current)
    ]


async def server_personas(
    room: DraftRoom, interaction: Interaction, current: str
) -> list[Choice[str]]:
    """The personas of the member's server matching what they typed (`@` optional)."""
    handles = await room.workspace_personas(server_of(interaction.guild_id))
    typed = current.strip().lstrip("@").lower()
    return name_choices([h for h in handles if typed in h.lower()])


def server_of(guild_id: int | None) -> str | None:
    """The core's name for the Discord server a request came from, whose settings apply."""
    return f"{PLATFORM}:{guild_id}" if guild_id is not None else None


def visible_places(interaction: Interaction) -> tuple[tuple[str, str], ...]:
    """The server's text channels this person may view, from discord.py's cache (the scope of
    their queue: a post lives in the channel it was proposed in)."""
    guild, member = interaction.guild, interaction.user
    if guild is None or not isinstance(member, discord.Member):
        return (place_of(interaction),)
    seen = [
        (PLATFORM, str(channel.id))
        for channel in guild.text_channels
        if channel.permissions_for(member).view_channel
    ]
    return tuple(seen) or (place_of(interaction),)


def add_commands(tree: app_commands.CommandTree[Any], room: DraftRoom, run: Run) -> None:
    personas, pillars = room.pickable()

    # A server may have chosen its own personas, and a command's choices are the same in every
    # server: the personas are suggested as the member types, from their server's.
    async def persona_suggestions(interaction: Interaction, current: str) -> list[Choice[str]]:
        return await server_personas(room, interaction, current)

    async def plan_suggestions(interaction: Interaction, current: str) -> list[Choice[int]]:
        return await plan_choices(room, current, place_of(interaction))

    async def post_suggestions(interaction: Interaction, current: str) -> list[Choice[int]]:
        return await post_choices(room, current, place_of(interaction))

    @tree.command(name="propose", description="Plan a batch of posts from an idea.")
    @app_commands.guild_only()
    @app_commands.describe(
        idea="What the posts are about.",
        pillar="The content pillar (planner); the persona's default if left out.",
        persona="The account the posts are written for; the server's default if left out.",
        special="The batch, e.g. Generate exactly 5 items: 1 with content_format='video' ...",
    )
    @pick_from(pillars, "pillar")
    @app_commands.autocomplete(persona=persona_suggestions)
    async def propose(
        interaction: Interaction,
        idea: str,
        pillar: str | None = None,
        persona: str | None = None,
        special: str | None = None,
    ) -> None:
        await run(interaction, "propose", lambda: Propose(idea, pillar, persona, special))

    @tree.command(name="refine", description="Revise a plan with a note.")
    @app_commands.guild_only()
    @app_commands.describe(plan="The plan to revise.", note="What to change.")
    @app_commands.autocomplete(plan=plan_suggestions)
    async def refine(interaction: Interaction, plan: int, note: str) -> None:
        await run(interaction, "refine", lambda: Refine(plan, note))

    @tree.command(name="run", description="Run the pipeline for a plan.")
    @app_commands.guild_only()
    @app_commands.describe(plan="The plan to run.")
    @app_commands.autocomplete(plan=plan_suggestions)
    async def run_plan(interaction: Interaction, plan: int) -> None:
        await run(interaction, "run", lambda: RunPlan(plan))

    @tree.command(name="post", description="Show a post card: plan, body, caption, pipeline.")
    @app_commands.guild_only()
    @app_commands.describe(post="The post to show.")
    @app_commands.autocomplete(post=post_suggestions)
    async def show_post(interaction: Interaction, post: int) -> None:
        await run(interaction, "post", lambda: ShowPost(post))

    @tree.command(name="posts", description="List recent posts.")
    @app_commands.guild_only()
    @app_commands.describe(status="Only posts in this state.", persona="Only this persona's.")
    @pick_from([*POST_STATUSES, SCHEDULED], "status")
    @pick_from(personas, "persona")
    async def list_posts(
        interaction: Interaction, status: str | None = None, persona: str | None = None
    ) -> None:
        await run(interaction, "posts", lambda: ListPosts(status, persona))

    @tree.command(name="schedule", description="Publish a post at a time, or at the next slot.")
    @app_commands.guild_only()
    @app_commands.describe(
        post="The post to schedule.",
        when="next, HH:MM or YYYY-MM-DD HH:MM in the persona's time zone, or ISO with offset.",
    )
    @app_commands.autocomplete(post=post_suggestions)
    async def schedule(interaction: Interaction, post: int, when: str) -> None:
        await run(interaction, "schedule", lambda: Schedule(post, when))

    @tree.command(name="unschedule", description="Remove a post's time.")
    @app_commands.guild_only()
    @app_commands.describe(post="The post; approved, it is published at once.")
    @app_commands.autocomplete(post=post_suggestions)
    async def unschedule(interaction: Interaction, post: int) -> None:
        await run(interaction, "unschedule", lambda: Unschedule(post))

    @tree.command(name="costs", description="Spend by day, persona and provider.")
    @app_commands.guild_only()
    @app_commands.describe(days="How many days back (default 7).")
    async def costs(
        interaction: Interaction, days: app_commands.Range[int, 1, 366] | None = None
    ) -> None:
        await run(interaction, "costs", lambda: Costs() if days is None else Costs(days))

    @tree.command(name="ask", description="Ask the post library a question.")
    @app_commands.guild_only()
    @app_commands.describe(question="The question; the answer names the posts it used.")
    async def ask(interaction: Interaction, question: str) -> None:
        await run(interaction, "ask", lambda: Ask(question))

    @tree.command(name="queue", description="Drafts waiting for your approval, and yours.")
    @app_commands.guild_only()
    async def queue(interaction: Interaction) -> None:
        places = visible_places(interaction)
        await run(interaction, "queue", lambda: ShowQueue(places))

    @tree.command(name="links", description="The live links to this channel's web pages.")
    @app_commands.guild_only()
    async def links(interaction: Interaction) -> None:
        await run(interaction, "links", ListLinks)

    @tree.command(name="revoke", description="Stop a link to a web page working.")
    @app_commands.guild_only()
    @app_commands.describe(link="The link, or its number from /links.")
    async def revoke(interaction: Interaction, link: str) -> None:
        await run(interaction, "revoke", lambda: Revoke(link))

    topics = [*USAGE, "setup"]

    @tree.command(name="help", description="What each command does; setup: what is wrong.")
    @app_commands.describe(topic="A command, or setup (approvers: the set-up's problems).")
    @app_commands.choices(topic=[Choice(name=t, value=t) for t in topics[:CHOICES_MAX]])
    async def help_command(interaction: Interaction, topic: str | None = None) -> None:
        await run(interaction, "help", lambda: Help(topic))
