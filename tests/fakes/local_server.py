"""The lifecycle the fake servers share: each builds its aiohttp application, `start` serves it
on 127.0.0.1 at a free port (`url`, `port`), and `stop` lets go of the requests the fake holds
before shutting down. Use `async with FakeSomething() as fake:`."""

from __future__ import annotations

from typing import Self

from aiohttp import web


class LocalServer:
    _runner: web.AppRunner | None = None
    url: str = ""
    port: int = 0

    def application(self) -> web.Application:
        raise NotImplementedError

    def release_held(self) -> None:
        """Answer the requests the fake is holding (a stall), so shutdown does not wait."""

    async def start(self) -> Self:
        self._runner = web.AppRunner(self.application(), access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = int(self._runner.addresses[0][1])
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    async def stop(self) -> None:
        self.release_held()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
