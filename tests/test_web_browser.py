"""The pages in a real headless Chromium, as a reviewer opens them from the console's links.

Screenshots at desktop and phone widths are kept under each test's temporary folder
(`screenshots/`), CI's artifacts of these tests."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.db_rows import rows, scalar
from tests.slack_support import SEED_PROPOSE
from tests.support import make_settings, wait_until
from tests.web_support import chromium, need_chromium, site_session

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def browser_path(request: pytest.FixtureRequest) -> str:
    return need_chromium(request)


async def shoot(page: Any, folder: Path, name: str) -> None:
    await asyncio.to_thread(folder.mkdir, exist_ok=True)
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        await page.set_viewport_size(size)
        await page.screenshot(path=str(folder / f"{name}-{label}.png"), full_page=True)


async def test_the_seed_batch_reads_on_its_post_page(browser_path: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    async with site_session(settings) as site, chromium(browser_path) as browser:
        await site.session.type(f"/propose {SEED_PROPOSE}")
        await site.session.type("/run 1")
        await site.session.settle()
        [(video_post, steps)] = rows(
            settings.db_path,
            "SELECT p.id, COUNT(s.id) FROM posts p JOIN steps s ON s.post_id = p.id"
            " WHERE p.content_format = 'video' GROUP BY p.id",
        )
        card_post = scalar(
            settings.db_path,
            "SELECT id FROM posts WHERE content_format = 'hero_text' ORDER BY id LIMIT 1",
        )
        page = await browser.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on(
            "response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None
        )

        await page.goto(site.link(f"/p/{video_post}"))
        status = await page.get_by_test_id("status").inner_text()
        assert status.startswith("awaiting approval · ") and " · $0.00 total · " in status
        assert await page.get_by_test_id("step").count() == steps
        for heading in ("Plan (drafter input)", "Body", "Caption", "Pipeline", "Chat References"):
            assert await page.get_by_role("heading", name=heading, exact=True).count() == 1
        assert await page.locator("text=special_message: Generate exactly 5 items").count() == 1
        video = page.locator("video")
        assert await video.count() == 1
        assert (await video.get_attribute("poster") or "").startswith(f"/p/{video_post}/media/")
        source = await page.locator("video source").get_attribute("src")
        assert source and source.endswith(".mp4" + source[source.index("?") :])
        async with httpx.AsyncClient() as http:
            clip = await http.get(site.base + source)
        assert clip.status_code == 200 and clip.headers["content-type"] == "video/mp4"
        await shoot(page, tmp_path / "screenshots", "video-post")

        await page.goto(site.link(f"/p/{card_post}"))
        images = page.locator("figure img")
        assert await images.count() >= 1
        for i in range(await images.count()):
            await images.nth(i).scroll_into_view_if_needed()
            width = await images.nth(i).evaluate("img => img.complete && img.naturalWidth")
            assert width and width > 0
        await shoot(page, tmp_path / "screenshots", "hero-text-post")
        assert not errors, errors  # nothing the page tried was refused (CSP) or broke


async def test_the_library_tabs_and_a_refused_link_in_the_browser(
    browser_path: str, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)
    async with site_session(settings) as site, chromium(browser_path) as browser:
        await site.session.type(f"/propose {SEED_PROPOSE}")
        await site.session.type("/run 1")
        await site.session.settle()
        await site.session.type("/posts")
        page = await browser.new_page()
        await page.goto(site.link("/posts"))
        tab = page.get_by_test_id("tab-awaiting_approval")
        assert (await tab.inner_text()).split()[-1] == "5"
        assert await page.get_by_test_id("post-row").count() == 5
        await page.get_by_test_id("tab-published").click()
        await page.wait_for_url("**status=published**")
        assert await page.get_by_text("No posts match.").count() == 1
        await shoot(page, tmp_path / "screenshots", "library")

        link = site.link("/p/1")
        await site.session.type(f"/revoke {link}", user="editor")
        answer = await page.goto(link)
        assert answer is not None and answer.status == 403
        assert "This link was revoked on" in await page.inner_text("body")
        await shoot(page, tmp_path / "screenshots", "revoked")


async def test_the_run_page_updates_itself(browser_path: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, OFFLINE_LATENCY_S=0.3)
    async with site_session(settings) as site, chromium(browser_path) as browser:
        await site.session.type(f"/propose {SEED_PROPOSE}")
        page = await browser.new_page()
        started = asyncio.create_task(site.session.type("/run 1"))
        await wait_until(lambda: site.links("/runs/1"), timeout=20)
        await page.goto(site.link("/runs/1"))
        first = await page.get_by_test_id("run-status").inner_text()
        assert "done" not in first
        await started
        await page.wait_for_function(
            "() => document.querySelector('[data-testid=run-status]').innerText"
            ".includes('5/5 items finished')",
            timeout=30_000,
        )
        assert await page.get_by_test_id("item").count() == 5


async def test_markup_in_a_post_is_text_and_an_expired_link_is_refused(
    browser_path: str, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, SHARE_LINK_HOURS=0.002)  # links last 7.2 s
    async with site_session(settings) as site, chromium(browser_path) as browser:
        await site.session.type(
            '/propose <script>alert("x")</script> <img src=x onerror=alert(1)> special:"Generate '
            "exactly 1 items: 1 with content_format='text'.\""
        )
        await site.session.type("/run 1")
        await site.session.settle()
        await site.session.type("/post 1")
        link = site.link("/p/1")
        page = await browser.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda d: dialogs.append(d.message))
        answer = await page.goto(link)
        assert answer is not None and answer.status == 200
        body = await page.inner_text("main")
        assert '<script>alert("x")</script>' in body and "<img src=x onerror=alert(1)>" in body
        assert await page.locator("main script, main img[src=x]").count() == 0
        assert dialogs == []

        async def refused() -> bool:
            answer = await page.goto(link)
            return answer is not None and answer.status == 403

        await wait_until(refused, timeout=20)
        assert "This link has expired." in await page.inner_text("body")
        await shoot(page, tmp_path / "screenshots", "expired")
