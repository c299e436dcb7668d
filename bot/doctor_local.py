"""Local checks: the database, the media and outbox folders, the personas file, the budget and
Slack's HTTP port. None of them touch the network or write anything but a probe file."""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import tempfile
import time
from pathlib import Path

from bot.doctor_check import Check, ok, problem, warning
from bot.settings import Settings
from pipeline.budget import start_of_day
from pipeline.personas import PersonaError, load_personas
from storage.backend import POSTGRES_SCHEMES
from storage.doctor_queries import DatabaseState, read_postgres_state, read_state
from storage.postgres_db import shown_url
from storage.unusable import DatabaseUnusableError


async def database_check(settings: Settings) -> tuple[Check, DatabaseState | None]:
    """The SQLite file, or the PostgreSQL server when DATABASE_URL is set; the line says which."""
    url = settings.database_url.get_secret_value() if settings.database_url else None
    since = start_of_day(time.time())
    if url and not url.startswith(POSTGRES_SCHEMES):
        scheme = url.split(":", 1)[0]
        return problem(
            "database",
            f"DATABASE_URL is not a PostgreSQL URL (it starts {scheme}:).",
            "make it postgresql://user:password@host/database, or unset it to use DRAFTROOM_DB.",
        ), None
    try:
        if url:
            state = await read_postgres_state(url, since=since)
        else:
            state = await read_state(settings.db_path, since=since)
    except DatabaseUnusableError as exc:
        problem_text, _, remedy = str(exc).rpartition(": ")  # the problem may hold ": "
        return problem("database", f"{problem_text}.", f"{remedy}."), None
    where = f"PostgreSQL {shown_url(url)}" if url else f"SQLite {settings.db_path}"
    if state.schema == 0:
        made = (
            "has no tables yet; the first start creates the tables"
            if url
            else ("will be created at the first start")
        )
        return ok("database", f"{where} {made}."), state
    if state.schema < state.known:
        detail = (
            f"{where} is at schema {state.schema}; the next start migrates it to {state.known}."
        )
        return ok("database", detail), state
    return ok("database", f"{where} opens, at schema {state.schema} (this version's)."), state


def folder_check(name: str, folder: Path, setting: str) -> Check:
    """Writable by this user: a probe file is made and removed (root is held to modes only when
    its capabilities say so, which `os.access` does not see)."""
    target = folder
    while not target.exists() and target != target.parent:
        target = target.parent  # the folder is made at first use, inside this one
    if not target.is_dir():
        return problem(
            name,
            f"{folder} cannot be made: {target} is a file, not a folder.",
            f"set {setting} to a folder path.",
        )
    try:
        fd, probe = tempfile.mkstemp(prefix=".draftroom-doctor-", dir=target)
    except OSError as exc:
        return problem(
            name,
            f"{target} is not writable by this user (uid {os.getuid()}: {exc.strerror}).",
            f"fix the folder's owner or mode, or set {setting} to a folder this user may write.",
        )
    os.close(fd)
    os.unlink(probe)
    made = "" if target == folder else f" (it will be made inside {target})"
    return ok(name, f"{folder} is writable{made}.")


def folder_checks(settings: Settings) -> list[Check]:
    checks = [folder_check("media folder", settings.media_dir, "DRAFTROOM_MEDIA_DIR")]
    if settings.publish_webhook_url is None:  # otherwise nothing is written to the outbox
        checks.append(folder_check("outbox folder", settings.outbox_dir, "DRAFTROOM_OUTBOX_DIR"))
    return checks


def personas_check(settings: Settings) -> Check:
    try:
        personas = load_personas(settings.personas_file)
    except PersonaError as exc:
        return problem("personas", f"{exc}.", "fix the file, or set PERSONAS_FILE to another.")
    return ok(
        "personas",
        f"{settings.personas_file}: {len(personas.by_handle)} personas, "
        f"{len(personas.all_pillars())} pillars.",
    )


def budget_check(settings: Settings, state: DatabaseState | None) -> Check:
    daily = settings.daily_budget_usd
    paid = settings.llm_provider != "offline" or settings.fal_key is not None
    if state is None or state.committed_today_usd is None:
        return warning("budget", f"DAILY_BUDGET_USD is ${daily:.2f}; today's spend is unknown.")
    spent = state.committed_today_usd
    detail = f"DAILY_BUDGET_USD is ${daily:.2f}; ${spent:.2f} committed today (UTC)."
    if paid and daily <= 0:
        return problem("budget", detail, "set DAILY_BUDGET_USD above 0, or no paid call can run.")
    if paid and spent >= daily:
        return warning("budget", detail + " Nothing paid can run until tomorrow.", "raise it.")
    return ok("budget", detail)


def http_port_check(settings: Settings) -> Check | None:
    """Slack's HTTP mode only (Socket Mode listens on nothing)."""
    if not settings.slack_enabled or settings.slack_app_token is not None:
        return None
    port = settings.slack_port
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp binds
        try:
            sock.bind(("0.0.0.0", port))
        except OSError as exc:
            why = (
                "is in use" if exc.errno == errno.EADDRINUSE else f"cannot be used ({exc.strerror})"
            )
            return problem(
                "slack http port",
                f"port {port} {why} (another program, or a draftroom already running?).",
                "stop what holds it, or set SLACK_PORT to a free port (and the request URLs).",
            )
    return ok("slack http port", f"port {port} is free.")


def startup_refusal(settings: Settings) -> str | None:
    """The doctor line of the first local problem that would make every command fail, or None.

    The database and the personas file refuse start-up in bootstrap with their own messages."""
    for check in [*folder_checks(settings), http_port_check(settings)]:
        if check is not None and check.level == "problem":
            return check.line()
    return None


async def local_checks(
    settings: Settings, *, in_the_bot: bool = False
) -> tuple[list[Check], DatabaseState | None]:
    """`in_the_bot`: asked by the running bot, whose own server holds Slack's port."""
    database, state = await database_check(settings)
    checks = [database, *folder_checks(settings), personas_check(settings)]
    checks.append(budget_check(settings, state))
    port = None if in_the_bot else http_port_check(settings)
    if port is not None:
        checks.append(port)
    return checks, state
