"""A whole set-up for `draftroom doctor` tests: fake Slack, Discord, OpenAI-compatible server,
fal and a publishing webhook on 127.0.0.1, the settings that point at them, and doctor run as
`python -m bot doctor` in a subprocess (started without blocking the loop the fakes run on)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.settings import Settings
from tests.fakes.discord import FakeDiscord
from tests.fakes.fal import FakeFal
from tests.fakes.providers import FakeOpenAI
from tests.fakes.slack import FakeSlack

ROOT = Path(__file__).resolve().parent.parent
WEBHOOK_SECRET = "doctor-webhook-signing"
# As root, modes bind only a process without the capabilities that override them (as in
# tests/test_bad_database.py).
BOUND_BY_MODES = (
    ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]
    if os.geteuid() == 0
    else []
)


class Webhook:
    """A publishing receiver that records what it got and answers `status`."""

    def __init__(self) -> None:
        self.status = 200
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.read()))
        return web.Response(status=self.status, text="ok" if self.status < 300 else "no")

    def signed_right(self, headers: dict[str, str], body: bytes) -> bool:
        mac = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
        return headers.get("X-Draftroom-Signature") == f"sha256={mac}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/publish", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/publish"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@dataclass
class SetUp:
    tmp: Path
    slack: FakeSlack
    discord: FakeDiscord
    text: FakeOpenAI
    fal: FakeFal
    webhook: Webhook
    env: dict[str, str] = field(default_factory=dict)

    def settings(self) -> Settings:
        return Settings(_env_file=None, **self.env)  # type: ignore[call-arg]

    def paid_calls(self) -> int:
        """Chat completions and fal submissions the fakes received: what doctor must not make."""
        return self.text.completed + len(self.text.calls) + sum(self.fal.submissions.values())

    async def doctor(
        self, *args: str, bound_by_modes: bool = False, typed: str = ""
    ) -> tuple[int, list[str]]:
        """Run `python -m bot ARGS` (`typed` on its stdin); its exit status and printed lines."""
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), **self.env}
        prefix = BOUND_BY_MODES if bound_by_modes else []
        process = await asyncio.create_subprocess_exec(
            *prefix,
            sys.executable,
            "-m",
            "bot",
            *args,
            cwd=self.tmp,
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(typed.encode()), 60)
        assert b"Traceback" not in err, err.decode()
        code = process.returncode
        assert code is not None
        return code, out.decode().splitlines() + err.decode().splitlines()


def complete_env(tmp: Path, setup: Any) -> dict[str, str]:
    slack, discord, text, fal, webhook = setup
    return {
        "DRAFTROOM_DB": str(tmp / "d.db"),
        "DRAFTROOM_MEDIA_DIR": str(tmp / "media"),
        "DRAFTROOM_OUTBOX_DIR": str(tmp / "outbox"),
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_APP_TOKEN": slack.app_token,
        "SLACK_SIGNING_SECRET": "test-signing-secret",
        "SLACK_API_URL": slack.api_url,
        "DISCORD_BOT_TOKEN": discord.token,
        "DISCORD_API_URL": discord.api_url,
        "DISCORD_GUILD_ID": str(discord.guild_id),
        "LLM_PROVIDER": "openai",
        "LLM_BASE_URL": text.base_url,
        "LLM_API_KEY": "sk-test-doctor",
        "LLM_MODEL": "gpt-4o-mini",
        "FAL_KEY": fal.api_key,
        "FAL_QUEUE_URL": fal.url,
        "FAL_API_URL": f"{fal.url}/v1",
        "MEDIA_HOSTS": fal.media_host,
        "PUBLISH_WEBHOOK_URL": webhook.url,
        "PUBLISH_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }


@contextlib.asynccontextmanager
async def set_up(tmp: Path, **fakes: Any) -> AsyncIterator[SetUp]:
    """Everything configured and working; `fakes` replaces one (e.g. `slack=FakeSlack(...)`)."""
    slack = fakes.get("slack") or FakeSlack()
    discord = fakes.get("discord") or FakeDiscord(gateway_compression=False)
    text = fakes.get("text") or FakeOpenAI(api_key="sk-test-doctor")
    fal = fakes.get("fal") or FakeFal()
    webhook = Webhook()
    async with slack, discord, text, fal:
        await webhook.start()
        try:
            env = complete_env(tmp, (slack, discord, text, fal, webhook))
            yield SetUp(tmp, slack, discord, text, fal, webhook, env)
        finally:
            await webhook.stop()


def lines_of(lines: list[str], level: str) -> list[str]:
    return [line for line in lines if line.startswith(f"{level} ")]
