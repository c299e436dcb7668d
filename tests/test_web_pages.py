"""The web pages over real HTTP: who may open them, what they answer, and what they never do."""

from __future__ import annotations

import asyncio
import html
import re
from pathlib import Path

import httpx

from bot.settings import Settings
from tests import db_rows
from tests.slack_support import SEED_PROPOSE
from tests.support import make_settings, wait_until
from tests.web_support import Site, site_session


async def seed_batch(site: Site) -> None:
    await site.session.type(f"/propose {SEED_PROPOSE}")
    await site.session.type("/run 1")
    await site.session.settle()


def rows(settings: Settings, sql: str) -> list[tuple[object, ...]]:
    return db_rows.rows(settings.db_path, sql)


async def test_a_post_page_answers_with_headers_that_keep_it_to_this_origin(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    async with site_session(settings) as site, httpx.AsyncClient() as http:
        await seed_batch(site)
        await site.session.type("/post 2")
        page = await http.get(site.link("/p/2"))
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        csp = page.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["referrer-policy"] == "no-referrer"
        assert "awaiting approval" in page.text and "$0.00 total" in page.text
        assert page.text.count('data-testid="step"') == len(
            rows(settings, "SELECT id FROM steps WHERE post_id = 2")
        )


async def test_links_without_a_token_or_with_a_changed_one_open_nothing(tmp_path: Path) -> None:
    async with site_session(make_settings(tmp_path)) as site, httpx.AsyncClient() as http:
        await seed_batch(site)
        await site.session.type("/post 1")
        good = site.link("/p/1")
        bare = await http.get(f"{site.base}/p/1")
        assert bare.status_code == 403 and "link on a draftroom card" in bare.text
        changed = await http.get(good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"))
        assert changed.status_code == 403 and "not valid" in changed.text
        # A post link opens its post, not another one, nor the library.
        token = good.split("?t=", 1)[1]
        other = await http.get(f"{site.base}/p/2?t={token}")
        assert other.status_code == 404 and "There is no such post here." in other.text
        library = await http.get(f"{site.base}/posts?t={token}")
        assert library.status_code == 404


async def test_a_revoked_link_answers_403_with_a_page_saying_so(tmp_path: Path) -> None:
    async with site_session(make_settings(tmp_path)) as site, httpx.AsyncClient() as http:
        await seed_batch(site)
        await site.session.type("/post 3")
        link = site.link("/p/3")
        assert (await http.get(link)).status_code == 200
        listed = await site.session.type("/links")
        number = next(line.split()[1] for line in listed.splitlines() if "· post 3 ·" in line)
        refused = await site.session.type(f"/revoke {number}", user="writer")
        assert "only they or an approver may revoke it" in refused
        assert (await http.get(link)).status_code == 200
        said = await site.session.type(f"/revoke {link}", user="editor")
        assert f"link {number} (post 3) is revoked" in said
        gone = await http.get(link)
        assert gone.status_code == 403 and "This link was revoked on" in gone.text
        # The next card in the channel carries a new link that works.
        await site.session.type("/post 3")
        fresh = site.link("/p/3")
        assert fresh != link and (await http.get(fresh)).status_code == 200


async def test_an_expired_link_answers_403(tmp_path: Path) -> None:
    # Links last 1.8 s here; the card's link is opened once in time and once after.
    settings = make_settings(tmp_path, SHARE_LINK_HOURS=0.0005)
    async with site_session(settings) as site, httpx.AsyncClient() as http:
        await site.session.type(f"/propose {SEED_PROPOSE}")
        link = site.link("/plans/1")
        assert (await http.get(link)).status_code == 200

        async def expired() -> bool:
            answer = await http.get(link)
            return answer.status_code == 403 and "This link has expired." in answer.text

        await wait_until(expired, timeout=10)


async def test_with_shared_links_off_cards_carry_none_and_pages_refuse(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, SHARED_LINKS="false")
    async with site_session(settings) as site, httpx.AsyncClient() as http:
        await site.session.type(f"/propose {SEED_PROPOSE}")
        assert "?t=" not in site.session.transcript
        answer = await http.get(f"{site.base}/posts?t=anything")
        assert answer.status_code == 403 and "SHARED_LINKS=false" in answer.text
    assert rows(settings, "SELECT COUNT(*) FROM shares") == [(0,)]


async def test_media_are_served_from_the_post_s_own_files_only(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    (tmp_path / "secret.txt").write_text("not for the web")
    async with site_session(settings) as site, httpx.AsyncClient() as http:
        await seed_batch(site)
        await site.session.type("/post 2")
        token = site.link("/p/2").split("?t=", 1)[1]
        (card,) = rows(
            settings, "SELECT artifact FROM steps WHERE post_id = 2 AND name = 'hero_card'"
        )
        image = await http.get(f"{site.base}/p/2/media/{card[0]}?t={token}")
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        assert image.content[:8] == b"\x89PNG\r\n\x1a\n"
        assert image.headers["x-content-type-options"] == "nosniff"
        (other,) = rows(
            settings, "SELECT artifact FROM steps WHERE post_id = 3 AND name = 'hero_card'"
        )
        for name in (other[0], "..%2Fsecret.txt", "%2E%2E%2Fsecret.txt", "draftroom.db"):
            answer = await http.get(f"{site.base}/p/2/media/{name}?t={token}")
            assert answer.status_code == 404, name
            assert "not for the web" not in answer.text


async def test_text_with_markup_is_shown_as_text(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    async with site_session(settings) as site, httpx.AsyncClient() as http:
        await site.session.type(
            '/propose <script>alert("x")</script> & <b>bold</b> special:"Generate exactly 1 '
            "items: 1 with content_format='text'.\""
        )
        await site.session.type("/run 1")
        await site.session.settle()
        await site.session.type("/post 1")
        page = await http.get(site.link("/p/1"))
        assert "<script>alert" not in page.text
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text


async def test_the_library_counts_pages_and_filters_what_the_database_holds(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    async with site_session(settings) as site, httpx.AsyncClient() as http:
        await seed_batch(site)
        await site.session.type("/post 1")  # 1 is the video item; approve two hero_text posts
        await site.session.type("/posts")
        library = site.link("/posts")
        for post_id in (2, 3):
            (message,) = rows(
                settings,
                f"SELECT message_id FROM messages WHERE post_id = {post_id} AND kind = 'draft'",
            )
            await site.session.type(f"react {message[0]} ✅", user="editor")
        await wait_until(
            lambda: (
                rows(settings, "SELECT COUNT(*) FROM posts WHERE status = 'published'") == [(2,)]
            ),
            timeout=20,
        )
        page = await http.get(library)
        for status, count in rows(settings, "SELECT status, COUNT(*) FROM posts GROUP BY status"):
            assert f'data-testid="tab-{status}"' in page.text
            tab = page.text.split(f'data-testid="tab-{status}"', 1)[1].split("</a>", 1)[0]
            assert f'<span class="count">{count}</span>' in tab
        assert page.text.count('data-testid="post-row"') == 3  # the awaiting-approval tab
        published = await http.get(library + "&status=published")
        assert published.text.count('data-testid="post-row"') == 2
        searched = await http.get(library + "&status=published&q=nothingmatcheszzz")
        assert "No posts match." in searched.text
        bad = await http.get(library + "&from=yesterday")
        assert bad.status_code == 400 and "from must be a date like 2026-05-11" in bad.text
        costs = await http.get(library.replace("/posts?", "/costs?"))
        assert costs.status_code == 200 and "<svg" in costs.text


async def test_a_run_page_follows_the_run(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, OFFLINE_LATENCY_S=0.2)
    async with site_session(settings) as site, httpx.AsyncClient() as http:
        await site.session.type(f"/propose {SEED_PROPOSE}")
        run = asyncio.create_task(site.session.type("/run 1"))
        await wait_until(lambda: site.links("/runs/1"), timeout=20)
        link = site.link("/runs/1")
        first = await http.get(link)
        assert first.status_code == 200 and "data-live=" in first.text
        await run
        await site.session.settle()
        items = await http.get(link.replace("/runs/1?", "/runs/1/items?"))
        assert "run 1 · done · 5/5 items finished" in items.text and "data-done" in items.text


def listed(page: str) -> list[int]:
    """The post ids of a library page's rows, in order."""
    return [int(i) for i in dict.fromkeys(re.findall(r'<td><a href="/p/(\d+)\?', page))]


async def test_the_library_pages_both_ways_with_and_without_words(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    async with site_session(settings) as site, httpx.AsyncClient() as http:
        for n in range(1, 7):
            await site.session.type(
                f'/propose audits number {n} special:"Generate exactly 5 items: 5 with '
                "content_format='text'.\""
            )
            await site.session.type(f"/run {n}")
        await site.session.settle()
        await site.session.type("/posts")
        library = site.link("/posts")
        for words in ("", "&q=audits"):
            first = await http.get(library + words)
            ids = listed(first.text)
            assert ids == list(range(30, 5, -1))
            older = re.search(r'<a rel="next" href="([^"]+)"', first.text)
            assert older is not None and 'rel="prev"' not in first.text
            second = await http.get(site.base + html.unescape(older.group(1)))
            assert listed(second.text) == [5, 4, 3, 2, 1]
            newer = re.search(r'<a rel="prev" href="([^"]+)"', second.text)
            assert newer is not None and 'rel="next"' not in second.text
            back = await http.get(site.base + html.unescape(newer.group(1)))
            assert listed(back.text) == ids
        searched = await http.get(library + "&q=audits")
        assert '<span class="count">30</span>' in searched.text
