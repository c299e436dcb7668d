"""`draftroom discord-invite`: the URL that adds the bot to a server with what it needs, no more.

The URL needs the application id. For a bot it is the bot user's id, and a bot token starts with
that id in base64 (the token's first dot-separated segment), so the token alone is enough and no
DISCORD_APPLICATION_ID setting is needed. (Applications created before 2017 may have a different
application id; their owners can take the URL from the developer portal instead.)
"""

from __future__ import annotations

import base64
import binascii

import discord

from bot.errors import ConfigError
from bot.settings import Settings

SCOPES = ("bot", "applications.commands")
# Read the channel and its history, post embeds with files, open threads on plan cards and
# drafts and answer in them, and offer the ✅ ❌ 🔁 reactions.
PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    create_public_threads=True,
    embed_links=True,
    attach_files=True,
    read_message_history=True,
    add_reactions=True,
)


def application_id(token: str) -> int:
    """The bot user id encoded in the token's first segment."""
    first = token.removeprefix("Bot ").split(".", 1)[0]
    try:
        decoded = base64.urlsafe_b64decode(first + "=" * (-len(first) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    if not decoded.isdigit():
        raise ConfigError("DISCORD_BOT_TOKEN does not look like a bot token; copy it again.")
    return int(decoded)


def invite_url(settings: Settings) -> str:
    if settings.discord_bot_token is None:
        raise ConfigError("discord-invite needs DISCORD_BOT_TOKEN (see README, Discord).")
    client_id = application_id(settings.discord_bot_token.get_secret_value())
    guild = settings.discord_guild_id
    return discord.utils.oauth_url(
        client_id,
        permissions=PERMISSIONS,
        scopes=SCOPES,
        guild=discord.Object(guild) if guild is not None else discord.utils.MISSING,
        disable_guild_select=guild is not None,
    )
