"""The whole product in a Discord server: propose, refine in the thread, run, approve, /post."""

from __future__ import annotations

import json
from pathlib import Path

from tests.discord_support import MESSAGES, discord_bot, embed_text, eventually
from tests.support import SEED_IDEA, SEED_SPECIAL

SEED_SECTIONS = ["Plan (drafter input)", "Body", "Caption", "Pipeline", "Chat References"]


async def test_full_session_from_idea_to_published_post(tmp_path: Path) -> None:
    async with discord_bot(tmp_path) as bot:
        fake = bot.fake
        writer = fake.non_approver_id
        ix = await bot.command(
            "propose", writer, idea=SEED_IDEA, pillar="structural_dread", special=SEED_SPECIAL
        )
        [deferral] = [r for r in fake.interaction_responses if r.interaction_id == ix.id]
        assert (deferral.type, deferral.status) == (5, 200)
        assert ix.ephemeral and deferral.elapsed < 3.0
        [card] = bot.titled("plan 1 · @aiaaron · structural_dread")
        [posted] = [c for c in fake.find_calls("POST", MESSAGES) if c.response["id"] == card["id"]]
        assert deferral.time < posted.time, "deferred before any work"
        assert "Generate exactly 5 items" in embed_text(card)
        thread_id = int(card["id"])
        assert thread_id in fake.threads

        await fake.dispatch_message(thread_id, "end on the document line", writer)
        answer = await eventually(lambda: bot.titled("plan 1 · revision 2", thread_id))
        assert "What changed" in embed_text(answer[0])

        await bot.command("run", writer, plan=1)
        await bot.idle()
        [progress] = bot.titled("run 1 · plan 1")
        assert progress["edited_timestamp"] is not None
        assert "5/5 items finished" in progress["embeds"][0]["title"]

        drafts = bot.drafts()
        formats = sorted(d["embeds"][0]["title"].split(" · ")[2] for d in drafts)
        assert formats == ["hero_text"] * 4 + ["video"]
        for draft in drafts:
            assert draft["attachments"], draft["embeds"][0]["title"]
            mid = int(draft["id"])
            assert mid in fake.threads
            for emoji in "✅❌🔁":
                assert fake.reactions(bot.channel, mid, emoji) == [fake.bot_user_id]

        hero = next(d for d in drafts if "hero_text" in d["embeds"][0]["title"])
        post_id = int(hero["embeds"][0]["title"].split(" · ")[0].removeprefix("post "))
        await fake.dispatch_reaction(bot.channel, int(hero["id"]), fake.approver_id, "✅")
        await eventually(lambda: bot.titled(f"post {post_id} is published", int(hero["id"])))
        bundle = tmp_path / "outbox" / f"post-{post_id}" / "post.json"
        assert json.loads(bundle.read_text())["post_id"] == post_id

        shown = await bot.command("post", post=post_id)
        text = embed_text(bot.followup(shown))
        positions = [text.index(section) for section in SEED_SECTIONS]
        assert positions == sorted(positions)
        assert "published · " in text
        assert not [c for c in fake.calls if c.status >= 400], "no request was refused"
        assert fake.find_calls("POST", MESSAGES)
