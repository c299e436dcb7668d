"""The web adapter: the post page, the library, runs, plans and costs as server-rendered HTML.

It translates and nothing else: a request's link token and path become a call on the room's
`pages`, the page data becomes a Jinja2 template (autoescaped). Every answer carries a
Content-Security-Policy that allows only this origin, `nosniff`, no caching and no referrer
(the token is in the URL). One place, `page`, turns errors into what the reader sees.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any
from urllib.parse import quote

import jinja2
from aiohttp import web

from bot.web_charts import day_bars
from handlers.links import Grant, LinkRefusedError
from handlers.pages import Pages
from handlers.ports import UserError
from handlers.post_page import PageNotFoundError, content_type

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'self'; "
        "script-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}
NO_TOKEN = "This page opens from a link on a draftroom card in chat."
BROKEN = "Something went wrong on our side; it is in the log. Try again."

Route = Callable[["Site", web.Request], Awaitable[web.StreamResponse]]


def templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("bot", "web_templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


class Site:
    """The pages' routes, added to an aiohttp application (the Slack HTTP-mode server's, or the
    page server's own)."""

    def __init__(self, pages: Pages) -> None:
        self.pages = pages
        self.env = templates()

    def add_routes(self, app: web.Application) -> None:
        for path, route in (
            ("/", Site.home),
            ("/p/{post:[0-9]{1,12}}", Site.post),
            ("/p/{post:[0-9]{1,12}}/media/{name}", Site.media),
            ("/posts", Site.library),
            ("/runs/{run:[0-9]{1,12}}", Site.run),
            ("/runs/{run:[0-9]{1,12}}/items", Site.run_items),
            ("/plans/{plan:[0-9]{1,12}}", Site.plan),
            ("/costs", Site.costs),
            ("/settings", Site.settings),
            ("/static/{name}", Site.static),
        ):
            app.router.add_get(path, self._page(route))

    def _page(self, route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            try:
                response = await route(self, request)
            except LinkRefusedError as exc:
                response = self.html("refused.html", status=403, title="Link refused", why=exc)
            except PageNotFoundError as exc:
                response = self.html("refused.html", status=404, title="Not found", why=exc)
            except UserError as exc:
                response = self.html("refused.html", status=400, title="Not understood", why=exc)
            except web.HTTPException:
                raise
            except Exception:
                log.exception("web page %s failed", request.path)
                response = self.html("refused.html", status=500, title="Sorry", why=BROKEN)
            response.headers.update(SECURITY_HEADERS)
            return response

        return handle

    def html(self, name: str, *, status: int = 200, **values: Any) -> web.Response:
        body = self.env.get_template(name).render(**values)
        return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")

    async def _grant(self, request: web.Request) -> Grant:
        token = request.query.get("t", "")
        if not token:
            raise LinkRefusedError(NO_TOKEN)
        return await self.pages.open(token)

    # -- routes ------------------------------------------------------------------------------

    async def home(self, request: web.Request) -> web.StreamResponse:
        return self.html("refused.html", status=200, title="draftroom", why=NO_TOKEN)

    async def post(self, request: web.Request) -> web.StreamResponse:
        grant = await self._grant(request)
        post_id = int(request.match_info["post"])

        def media_url(post: int, name: str) -> str:
            return self.pages.url(grant, f"/p/{post}/media/{name}")

        page = await self.pages.post(grant, post_id, media_url)
        return self.html(
            "post.html",
            page=page,
            title=page.headline or f"post {page.number}",
            nav=self._nav(grant),
            run_url=self._if(grant, "run", page.run_id, plan_id=page.plan_id),
            plan_url=self._if(grant, "plan", page.plan_id),
        )

    async def media(self, request: web.Request) -> web.StreamResponse:
        grant = await self._grant(request)
        name = request.match_info["name"]
        path = await self.pages.media(grant, int(request.match_info["post"]), name)
        return web.FileResponse(path, headers={"Content-Type": content_type(name)})

    async def library(self, request: web.Request) -> web.StreamResponse:
        grant = await self._grant(request)
        query = dict(request.query)
        page = await self.pages.library(
            grant, query, before=_number(query.get("before")), after=_number(query.get("after"))
        )

        def url(**changes: object) -> str:
            kept = {k: v for k, v in query.items() if k not in ("t", "before", "after") and v}
            kept.update({k: str(v) for k, v in changes.items() if v is not None})
            extra = "".join(f"&{k}={_quote(v)}" for k, v in kept.items())
            return self.pages.url(grant, "/posts") + extra

        return self.html(
            "library.html",
            page=page,
            title="Library",
            nav=self._nav(grant),
            url=url,
            post_url=lambda post_id: self.pages.url(grant, f"/p/{post_id}"),
            token=grant.token,
            query=query,
        )

    async def run(self, request: web.Request) -> web.StreamResponse:
        grant = await self._grant(request)
        page = await self.pages.run(grant, int(request.match_info["run"]))
        return self.html(
            "run.html",
            page=page,
            title=f"run {page.number}",
            nav=self._nav(grant),
            items_url=self.pages.url(grant, f"/runs/{page.run_id}/items"),
            post_url=lambda post_id: self.pages.url(grant, f"/p/{post_id}"),
            plan_url=self._if(grant, "plan", page.plan_id),
        )

    async def run_items(self, request: web.Request) -> web.StreamResponse:
        grant = await self._grant(request)
        page = await self.pages.run(grant, int(request.match_info["run"]))
        return self.html(
            "run_items.html",
            page=page,
            post_url=lambda post_id: self.pages.url(grant, f"/p/{post_id}"),
        )

    async def plan(self, request: web.Request) -> web.StreamResponse:
        grant = await self._grant(request)
        page = await self.pages.plan(grant, int(request.match_info["plan"]))
        return self.html(
            "plan.html",
            page=page,
            title=f"plan {page.number}",
            nav=self._nav(grant),
            run_url=lambda run_id: self.pages.url(grant, f"/runs/{run_id}"),
        )

    async def costs(self, request: web.Request) -> web.StreamResponse:
        grant = await self._grant(request)
        page = await self.pages.costs(grant, dict(request.query))
        return self.html(
            "costs.html",
            page=page,
            title="Costs",
            nav=self._nav(grant),
            chart=day_bars(page.by_day),
            token=grant.token,
        )

    async def settings(self, request: web.Request) -> web.StreamResponse:
        grant = await self._grant(request)
        page = await self.pages.settings(grant)
        return self.html("settings.html", page=page, title="draftroom settings", nav=None)

    async def static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        folder = resources.files("bot") / "web_static"
        if name not in {entry.name for entry in folder.iterdir()}:
            raise PageNotFoundError(f"There is no file {name[:80]!r}.")
        data = (folder / name).read_bytes()
        return web.Response(body=data, content_type=content_type(name))

    # -- links between pages -----------------------------------------------------------------

    def _nav(self, grant: Grant) -> dict[str, str] | None:
        if grant.share.kind != "library":
            return None
        return {
            "Library": self.pages.url(grant, "/posts"),
            "Costs": self.pages.url(grant, "/costs"),
        }

    def _if(self, grant: Grant, kind: str, target: int, **about: int) -> str | None:
        if not grant.opens(kind, target, **about):
            return None
        path = {"run": "/runs/{}", "plan": "/plans/{}", "post": "/p/{}"}[kind].format(target)
        return self.pages.url(grant, path)


def _number(text: str | None) -> int | None:
    if text is None or not text.isdigit() or len(text) > 12:
        return None
    return int(text)


def _quote(value: str) -> str:
    return quote(value, safe="")
