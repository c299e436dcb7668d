"""What the web adapter calls: open a link's token, then read one of the pages it grants.

Every page is scoped to the channel the link was made for, and none of them writes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from handlers import post_page, site_pages, workspace_settings
from handlers.deps import Deps
from handlers.links import Grant
from handlers.post_page import MediaUrl, PageNotFoundError, PostPage
from handlers.site_pages import CostsPage, LibraryPage, PlanPage, RunPage


@dataclass(frozen=True)
class SettingsPage:
    workspace: str
    lines: tuple[tuple[str, str], ...]
    own: bool  # False: the workspace follows the install's .env


class Pages:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def open(self, token: str) -> Grant:
        """The grant the token carries; `LinkRefusedError` saying why when it carries none."""
        return await self.deps.links.open(token)

    def url(self, grant: Grant, path: str) -> str:
        """Another page under the same link (the pages link to what their link also opens)."""
        return self.deps.links.url(grant.share, grant.token, path, full=False)

    async def post(self, grant: Grant, post_id: int, media_url: MediaUrl) -> PostPage:
        return await post_page.post_page(self.deps, grant, post_id, media_url)

    async def media(self, grant: Grant, post_id: int, name: str) -> Path:
        return await post_page.media_file(self.deps, grant, post_id, name)

    async def library(
        self, grant: Grant, query: dict[str, str], *, before: int | None, after: int | None
    ) -> LibraryPage:
        filters = site_pages.library_filters(self.deps, query)
        return await site_pages.library_page(self.deps, grant, filters, before=before, after=after)

    async def run(self, grant: Grant, run_id: int) -> RunPage:
        return await site_pages.run_page(self.deps, grant, run_id)

    async def plan(self, grant: Grant, plan_id: int) -> PlanPage:
        return await site_pages.plan_page(self.deps, grant, plan_id)

    async def costs(self, grant: Grant, query: dict[str, str]) -> CostsPage:
        since = site_pages.parse_day(query.get("from"), "from")
        until = site_pages.parse_day(query.get("to"), "to")
        return await site_pages.costs_page(self.deps, grant, since, until)

    async def settings(self, grant: Grant) -> SettingsPage:
        """A settings link (made for an admin) opens its workspace's settings, nothing else."""
        if grant.share.kind != "settings":
            raise PageNotFoundError("This link opens one page, not the settings.")
        workspace = grant.place[1]
        found = await workspace_settings.settings_of(self.deps, workspace)
        lines = tuple(workspace_settings.settings_lines(found))
        return SettingsPage(workspace, lines, found.own)

    def serving_at(self, url: str) -> None:
        self.deps.links.serving_at(url)
