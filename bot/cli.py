"""`draftroom` (or `python -m bot`): run the bot, the console, or print set-up helpers."""

from __future__ import annotations

import argparse
import asyncio
import sys

from pydantic import ValidationError

from bot.bootstrap import build, log_secrets
from bot.console import run_console
from bot.doctor import setup_report
from bot.doctor_local import startup_refusal
from bot.errors import ConfigError
from bot.logs import setup_logging
from bot.settings import Settings
from bot.web_server import WebServer

NO_PLATFORM = (
    "No Slack or Discord token set: opening the local console chat on {providers}. "
    "To connect Slack or Discord, set SLACK_BOT_TOKEN or DISCORD_BOT_TOKEN in .env (see README)."
)


def providers_in_use(settings: Settings) -> str:
    media = "fal" if settings.fal_key else "offline"
    if settings.llm_provider == "offline" and media == "offline":
        return "the offline providers"
    return f"{settings.llm_provider} text and {media} media"


CONSOLE_APPROVER = "editor"


def needs_postgres(settings: Settings, command: str) -> str | None:
    from bot.worker import refusal

    return refusal(settings, command)


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="draftroom", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run on Slack and/or Discord if configured, else the console")
    sub.add_parser("console", help="the local console chat")
    sub.add_parser("slack-manifest", help="print a Slack app manifest (YAML)")
    sub.add_parser("discord-invite", help="print the Discord invite URL")
    doctor = sub.add_parser("doctor", help="check the set-up; exit status 1 on a problem")
    doctor.add_argument("--webhook", action="store_true", help="send the webhook a test call")
    sub.add_parser("migrate-to-postgres", help="copy DRAFTROOM_DB into the empty DATABASE_URL")
    sub.add_parser("serve", help="PostgreSQL: the chat front ends and pages; workers run the jobs")
    worker = sub.add_parser("worker", help="PostgreSQL: run the jobs (runs, publishing, sweeps)")
    worker.add_argument("--concurrency", type=positive, default=None, help="jobs at once")
    worker.add_argument("--processes", type=positive, default=1, help="worker processes")
    return parser.parse_args(argv)


def console_approvers(settings: Settings) -> list[str]:
    """In the console, with no APPROVERS set, `editor` approves: `as editor` to act as them."""
    return settings.approvers or [CONSOLE_APPROVER]


async def run_console_mode(settings: Settings) -> None:
    approvers = console_approvers(settings)
    async with build(settings, approvers=approvers, setup_report=setup_report(settings)) as app:
        pages = WebServer(settings, app.room)
        await pages.start()
        try:
            await run_console(app.room, user=settings.console_user, approvers=approvers)
        finally:
            await pages.stop()


async def run_platforms(settings: Settings, *, jobs_here: bool = True) -> None:
    from bot.platforms import run_platforms as run

    await run(settings, jobs_here=jobs_here)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        settings = Settings()  # type: ignore[call-arg]  # values come from the environment
    except ValidationError as exc:
        sys.exit(f"draftroom: invalid settings:\n{exc}")
    setup_logging(settings.log_level, log_secrets(settings))
    command = args.command or "run"
    try:
        if command == "slack-manifest":
            from bot.slack_manifest import manifest

            print(manifest(settings))
        elif command == "discord-invite":
            from bot.discord_invite import invite_url

            print(invite_url(settings))
        elif command == "doctor":
            from bot.doctor import doctor

            sys.exit(doctor(settings, webhook=args.webhook))
        elif command == "migrate-to-postgres":
            from bot.migrate_command import migrate_to_postgres

            sys.exit(migrate_to_postgres(settings))
        elif command in ("worker", "serve") and (why := needs_postgres(settings, command)):
            sys.exit(why)
        elif command == "worker":  # no port to bind: the start-up checks are the front ends'
            from bot.worker import run_worker

            concurrency = args.concurrency or settings.concurrent_runs
            sys.exit(run_worker(settings, concurrency=concurrency, processes=args.processes))
        elif (refusal := startup_refusal(settings)) is not None:
            sys.exit(f"draftroom: {refusal}")
        elif command == "serve":
            asyncio.run(run_platforms(settings, jobs_here=False))
        elif command == "console" or not (settings.slack_enabled or settings.discord_enabled):
            if command != "console":
                print(NO_PLATFORM.format(providers=providers_in_use(settings)), flush=True)
            asyncio.run(run_console_mode(settings))
        else:
            asyncio.run(run_platforms(settings))
    except ConfigError as exc:
        sys.exit(f"draftroom: {exc}")
    except KeyboardInterrupt:
        pass
