"""The pages' own server, for runs without Slack's HTTP-mode server to share (the console,
Socket Mode, Discord only): WEB_HOST:WEB_PORT, 127.0.0.1:8080 unless set."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.settings import Settings
from bot.web import Site
from handlers.room import DraftRoom

log = logging.getLogger(__name__)


def page_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    return f"http://{shown}:{port}"


class WebServer:
    def __init__(self, settings: Settings, room: DraftRoom) -> None:
        self.settings = settings
        self.room = room
        self.port = settings.web_port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Serve the pages; a port in use is logged and the bot runs on without them."""
        app = web.Application()
        Site(self.room.pages).add_routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        host = self.settings.web_host
        try:
            await web.TCPSite(self._runner, host, self.port).start()
        except OSError as exc:
            log.warning(
                "web pages not served: %s:%d is not free (%s); set WEB_PORT", host, self.port, exc
            )
            await self.stop()
            return
        self.port = self._runner.addresses[0][1]
        self.room.pages.serving_at(page_url(host, self.port))
        log.info("web pages on %s", page_url(host, self.port))

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
