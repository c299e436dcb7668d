"""A workspace's settings page: a link made for one of its admins opens that workspace's
settings and nothing else, other links do not open it, and a non-admin gets no link. Read over
HTTP, and in Chromium as an admin opens it from the App Home."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from handlers.ports import UserError
from handlers.workspace_settings import SettingsForm
from tests.support import make_settings
from tests.web_support import chromium, need_chromium, site_session

WORKSPACE = "slack:T0AAA"
OTHER = "slack:T0BBB"


async def test_an_admins_link_opens_the_workspaces_settings_and_nothing_else(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path, APPROVERS="U0ENV")
    async with site_session(settings) as site, httpx.AsyncClient() as http:
        room = site.session.app.room
        form = SettingsForm("U0A1, U0A2", "U0E1", "2", "no", "12.5")
        await room.save_workspace_settings(WORKSPACE, "slack", "U0ADMIN", admin=True, form=form)

        link = await room.settings_link(WORKSPACE, "slack", "U0ADMIN", admin=True)
        assert link is not None and "/settings?t=" in link.url
        page = await http.get(link.url)
        assert page.status_code == 200
        assert "<td>U0A1, U0A2</td>" in page.text and "<td>$12.50</td>" in page.text
        assert "U0ENV" not in page.text and "the install" not in page.text

        # Another workspace's link shows its own: the .env's, said so.
        other = await room.settings_link(OTHER, "slack", "U0ADMIN", admin=True)
        assert other is not None
        shown = (await http.get(other.url)).text
        assert "<td>U0ENV</td>" in shown and "Not set for this workspace yet" in shown

        # The settings token opens no channel page, and a channel's link opens no settings.
        token = link.url.split("?", 1)[1]
        assert (await http.get(f"{site.base}/posts?{token}")).status_code == 404
        await site.session.type("/posts")
        library = site.link("/posts")
        refused = await http.get(library.replace("/posts?", "/settings?"))
        assert refused.status_code == 404 and "not the settings" in refused.text

        with pytest.raises(UserError, match="only this workspace's admins can see"):
            await room.settings_link(WORKSPACE, "slack", "U0A1", admin=False)


async def test_the_settings_page_reads_in_chromium(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    browser_path = need_chromium(request)
    async with site_session(make_settings(tmp_path)) as site, chromium(browser_path) as browser:
        room = site.session.app.room
        form = SettingsForm("U0A1", "", "1", "yes", "")
        await room.save_workspace_settings(WORKSPACE, "slack", "U0ADMIN", admin=True, form=form)
        link = await room.settings_link(WORKSPACE, "slack", "U0ADMIN", admin=True)
        assert link is not None
        page = await browser.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        await page.goto(link.url)
        rows = await page.get_by_test_id("setting").all_inner_texts()
        assert [" ".join(row.split()) for row in rows] == [
            "Approvers U0A1",
            "Editors anyone may propose",
            "Approvals required 1",
            "Authors may approve their own drafts yes",
            "Daily budget the install's",
            "Personas any of @aiaaron (default), @labnotes (none chosen)",
            "Approval channel where each plan was proposed",
            "Destinations as the personas file says",
        ]
        assert await page.get_by_test_id("workspace").inner_text() == WORKSPACE
        assert errors == []
