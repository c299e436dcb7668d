"""Discord's limits and failures: rate limits and 5xx, over-long text, mentions that never ping,
choices and autocomplete answers within Discord's 100 characters and 25 choices."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from bot.discord_embeds import EMBEDS_TOTAL_MAX, size
from handlers.ports import Card, Section
from tests.discord_support import MESSAGES, discord_bot, embed_text
from tests.fakes.discord import FakeDiscord

MESSAGE_WRITES = {
    ("POST", MESSAGES),
    ("PATCH", MESSAGES + "/{message_id}"),
    ("POST", "/webhooks/{application_id}/{token}"),
}


async def rest(fake: FakeDiscord, method: str, path: str, body: Any) -> tuple[int, Any]:
    """One request to the fake's REST API, as the bot would send it."""
    headers = {"Authorization": f"Bot {fake.token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, fake.api_url + path, json=body, headers=headers) as response,
    ):
        return response.status, await response.json()


def embeds_size(message: dict[str, Any]) -> int:
    total = 0
    for embed in message["embeds"]:
        total += size(embed.get("title") or "") + size(embed.get("description") or "")
        total += size((embed.get("footer") or {}).get("text") or "")
    return total


async def test_rate_limits_and_server_errors_delay_but_lose_nothing(tmp_path: Path) -> None:
    async with discord_bot(tmp_path) as bot:
        fake = bot.fake
        # Discord creates the plan card but answers 500, then 429s: discord.py's five tries are
        # spent, the port tries again later with the same nonce, and gets the card it made.
        failed = fake.fail_next(f"POST {MESSAGES}", status=500, times=1, commit=True)
        limited = fake.fail_next(f"POST {MESSAGES}", status=429, retry_after=0.2, times=4)
        drafts = await bot.drafted(items=3)

        assert limited.hits == 4 and failed.hits == 1
        posts = fake.find_calls("POST", MESSAGES)
        refused = [c for c in posts if c.status == 429]
        assert len(refused) == 4
        retried = posts[posts.index(refused[-1]) + 1]
        assert retried.status == 200 and retried.time - refused[-1].time >= 0.19
        assert len(drafts) == 3
        titles = Counter(m["embeds"][0]["title"] for m in bot.bot_messages())
        assert set(titles.values()) == {1}, titles
        assert [t for t in titles if t.startswith("plan 1 ")] and [
            t for t in titles if "run 1" in t
        ]
        nonces = [c.json["nonce"] for c in posts]
        assert any(count > 1 for count in Counter(nonces).values()), "a POST was retried"


async def test_over_long_text_is_cut_inside_the_limits(tmp_path: Path) -> None:
    async with discord_bot(tmp_path, MAX_TEXT_CHARS=4000) as bot:
        fake = bot.fake
        idea = " ".join(f"clause{i} of a very long idea" for i in range(120))
        assert 3000 < len(idea) < 3700
        special = (
            "Generate exactly 2 items: 1 with content_format='video' and "
            "1 with content_format='hero_text'."
        )
        writer = fake.non_approver_id
        await bot.command("propose", writer, idea=idea, special=special)
        await bot.command("run", writer, plan=1)
        await bot.idle()
        shown = await bot.command("post", writer, post=1)

        assert not [(c.path, c.response) for c in fake.calls if c.status == 400]
        messages = [*bot.bot_messages(), bot.followup(shown)]
        assert all(embeds_size(m) <= EMBEDS_TOTAL_MAX for m in messages)
        assert len(bot.drafts()) == 2
        [plan_card] = bot.titled("plan 1 ")
        assert len(plan_card["embeds"]) == 2 and "…" in embed_text(plan_card)
        answer = bot.followup(shown)
        assert "… (more: /post 1)" in embed_text(answer)
        # The video post's poster and clip, then the whole text the embeds had to cut.
        names = [a["filename"] for a in answer["attachments"]]
        assert len(names) == 3 and names[0].endswith("_poster.png")
        assert names[1].endswith("_clip.mp4") and names[2] == "full-text.md"


async def test_an_over_long_body_posts_cut_at_a_word(tmp_path: Path) -> None:
    async with discord_bot(tmp_path) as bot:
        body = " ".join(f"word{i}" for i in range(3000))  # about 20,000 characters
        card = Card(
            title="post 7 · " + "a very long headline " * 20,
            sections=(
                Section(None, "the status line"),
                Section("Body", body),
                Section("Caption", "short caption #ai"),
                *(Section(f"Note {i}", f"note {i}") for i in range(30)),
            ),
            footer="footer " * 400,
            more="/post 7",
            opens_thread=True,
        )
        ref = await bot.adapter.port.send(str(bot.channel), card, idempotency_key="draft:7:1")

        assert not [(c.path, c.response) for c in bot.fake.calls if c.status >= 400]
        message = bot.fake.message(bot.channel, int(ref.message_id))
        assert embeds_size(message) <= EMBEDS_TOTAL_MAX
        text = embed_text(message)
        assert "short caption #ai" in text and "note 29" in text
        kept = text.split("**Body**\n", 1)[1].split("… (more: /post 7)", 1)[0]
        assert kept.split()[-1] in body.split(), "cut between words"
        assert int(ref.message_id) in bot.fake.threads
        [full] = bot.fake.files(bot.channel, int(ref.message_id))
        assert full.filename == "full-text.md" and body in full.data.decode()


async def test_mentions_in_user_text_and_model_output_never_ping(tmp_path: Path) -> None:
    async with discord_bot(tmp_path) as bot:
        fake = bot.fake
        idea = f"why @everyone and @here argue <@&{fake.approver_role_id}> <@{fake.owner_id}>"
        await bot.drafted(idea=idea)
        [card] = bot.titled("plan 1 ")
        assert "@everyone" in embed_text(card)
        writes = [c for c in fake.calls if (c.method, c.route) in MESSAGE_WRITES]
        assert {(c.method, c.route) for c in writes} == MESSAGE_WRITES
        for call in writes:
            assert call.json["allowed_mentions"]["parse"] == [], call.path
            assert not call.json["allowed_mentions"].get("replied_user")


async def test_autocomplete_of_a_300_character_idea_fits_discords_choice_limits(
    tmp_path: Path,
) -> None:
    async with discord_bot(tmp_path) as bot:
        fake = bot.fake
        idea = " ".join(f"benchmark{i} results" for i in range(20))
        idea = idea[: idea.rfind(" ", 0, 300)]
        assert 280 < len(idea) <= 300
        await bot.command("propose", fake.non_approver_id, idea=idea)
        ix = await fake.dispatch_interaction("run", {"plan": ""}, focused="plan")
        await fake.wait_until(lambda: ix.response_type == 8)

        [answer] = [r for r in fake.interaction_responses if r.interaction_id == ix.id]
        assert answer.status == 200, "the fake took the choices"
        [choice] = answer.data["choices"]
        assert choice["value"] == 1 and len(choice["name"]) <= 100
        prefix = "plan 1 · @aiaaron · "
        assert choice["name"].startswith(prefix) and choice["name"].endswith("…")
        kept = choice["name"][len(prefix) : -1]
        assert len(kept) > 50 and idea.startswith(kept + " "), "cut at a word"


async def test_the_fake_refuses_choices_discord_would_refuse(tmp_path: Path) -> None:
    async with discord_bot(tmp_path) as bot:
        fake = bot.fake
        long = {"name": "n" * 101, "value": "v"}
        command = {
            "name": "pick",
            "description": "pick one",
            "options": [
                {"type": 3, "name": "what", "description": "what", "choices": [long]},
            ],
        }
        sync = f"/applications/{fake.application_id}/guilds/{fake.guild_id}/commands"
        status, body = await rest(fake, "PUT", sync, [command])
        assert (status, body["code"], body["message"]) == (400, 50035, "Invalid Form Body")
        assert "name" in body["errors"]["0"]["options"]["0"]["choices"]["0"]

        many = [{"name": f"c{i}", "value": f"c{i}"} for i in range(26)]
        for choices in (many, [long], [{"name": "ok", "value": "v" * 101}]):
            ix = await fake.dispatch_interaction("run", {"plan": ""}, focused="plan")
            path = f"/interactions/{ix.id}/{ix.token}/callback"
            status, body = await rest(fake, "POST", path, {"type": 8, "data": {"choices": choices}})
            assert (status, body["code"]) == (400, 50035), choices[:1]
