"""What the Slack app asks a workspace for: the manifest's scopes, the scopes an install through
OAuth requests, and what the doctor checks a token for."""

from __future__ import annotations

# No chat:write.public: it would let the bot post a card into a public channel it has not
# joined, where it can then neither react, upload, edit nor hear replies. The bot works in the
# channels it is invited to, and says "invite me with /invite @draftroom" everywhere else.
BOT_SCOPES = (
    "commands",
    "chat:write",
    "reactions:read",
    "reactions:write",
    "files:write",
    "channels:history",
    "groups:history",
    # users.conversations: the channels a Home tab's viewer shares with the bot.
    "channels:read",
    "groups:read",
    # users.info: whether a Home tab's viewer is a workspace admin, who may change its settings.
    "users:read",
)
