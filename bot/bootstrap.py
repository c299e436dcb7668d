"""Wiring: settings in, a running `DraftRoom` out. The one place that builds dependencies."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx

from bot.bootstrap_outlets import destination_secrets, outlets
from bot.errors import ConfigError
from bot.settings import Settings
from handlers.deps import Deps, Rules, SetupReport
from handlers.links import ShareLinks
from handlers.people import Roles
from handlers.ports import ChatPorts
from handlers.posting import Posting
from handlers.progress import Progress
from handlers.room import HEARTBEAT_S, DraftRoom
from pipeline.budget import Budget
from pipeline.media import MediaStore
from pipeline.personas import PersonaError, Personas, load_personas
from pipeline.procrastinate_queue import JobQueue, ProcrastinateRunQueue
from pipeline.procrastinate_schema import ensure_schema
from pipeline.providers.anthropic import AnthropicText
from pipeline.providers.base import MediaProvider, TextProvider
from pipeline.providers.fal import FalMedia
from pipeline.providers.local_video import LocalVideo
from pipeline.providers.offline import OfflineImages, OfflineText
from pipeline.providers.openai_compat import OpenAICompatibleText
from pipeline.providers.prices import MEDIA_PRICES, TEXT_PRICES
from pipeline.publisher import secret_parts
from pipeline.queue import SqliteRunQueue
from pipeline.retry import RetryPolicy
from pipeline.runner import Limits, Pipeline, Providers
from storage import backend
from storage.db import Database
from storage.gateway_locks import GatewayLocks, gateway_locks
from storage.postgres_db import PostgresDatabase
from storage.sealing import Sealer, SealingKeyError
from storage.unusable import DatabaseUnusableError

DEFAULT_MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-sonnet-4-5"}


@dataclass
class App:
    settings: Settings
    room: DraftRoom
    http: httpx.AsyncClient
    # Who serves which Discord shard, decided in the database (for DiscordAdapter).
    gateway_locks: GatewayLocks
    # The job queue on PostgreSQL (procrastinate); None on SQLite, whose queue is in-process.
    jobs: JobQueue | None = None


def text_provider(settings: Settings, http: httpx.AsyncClient) -> TextProvider:
    if settings.llm_provider == "offline":
        return OfflineText(settings.offline_latency_s)
    model = settings.llm_model or DEFAULT_MODELS[settings.llm_provider]
    prices = dict(TEXT_PRICES)
    if settings.llm_price_input is not None and settings.llm_price_output is not None:
        prices[model] = (settings.llm_price_input, settings.llm_price_output)
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    timeout = min(settings.step_timeout_s, 600.0)
    if settings.llm_provider == "anthropic":
        if not key:
            raise ConfigError("LLM_PROVIDER=anthropic needs LLM_API_KEY.")
        return AnthropicText(
            model=model,
            api_key=key,
            base_url=settings.llm_base_url or "https://api.anthropic.com",
            prices=prices,
            timeout_s=timeout,
            client=http,
        )
    return OpenAICompatibleText(
        model=model,
        base_url=settings.llm_base_url or "https://api.openai.com/v1",
        api_key=key,
        prices=prices,
        timeout_s=timeout,
        response_format=settings.llm_response_format,
        token_limit_param=settings.llm_token_limit_param,
        temperature=settings.llm_temperature,
        client=http,
    )


def media_providers(
    settings: Settings, http: httpx.AsyncClient
) -> tuple[MediaProvider, MediaProvider]:
    """Images, and video clips: fal's, or drawn here (`VIDEO_PROVIDER`, see .env.example)."""
    video_on_fal = settings.fal_key is not None and bool(settings.video_model)
    if settings.video_provider == "fal" and not video_on_fal:
        raise ConfigError(
            "VIDEO_PROVIDER=fal needs FAL_KEY and VIDEO_MODEL; set both, or VIDEO_PROVIDER=local."
        )
    if settings.video_provider == "local":
        video_on_fal = False
    if settings.fal_key is None:
        return OfflineImages(settings.offline_latency_s), LocalVideo()
    prices = dict(MEDIA_PRICES)
    if settings.image_price_usd is not None:
        prices[settings.image_model] = settings.image_price_usd
    if settings.video_model and settings.video_price_usd is not None:
        prices[settings.video_model] = settings.video_price_usd
    fal = FalMedia(
        api_key=settings.fal_key.get_secret_value(),
        model=settings.image_model,
        video_model=settings.video_model,
        queue_url=settings.fal_queue_url,
        prices=prices,
        timeout_s=settings.step_timeout_s,
        poll_interval_s=settings.fal_poll_interval_s,
        media_hosts=settings.media_hosts,
        max_bytes=settings.media_max_bytes,
        output_format=settings.image_output_format,
        safety_tolerance=settings.image_safety_tolerance,
        client=http,
    )
    return fal, (fal if video_on_fal else LocalVideo())


def log_secrets(settings: Settings) -> list[str]:
    """What the log filter scrubs: every secret setting, and each piece of the webhook URL
    that can carry its credential, in every form it may be written in."""
    found = settings.secrets()
    if settings.publish_webhook_url is not None:
        found += secret_parts(settings.publish_webhook_url.get_secret_value())
    with contextlib.suppress(PersonaError):  # a bad file is refused, naming why, at start-up
        found += destination_secrets(load_personas(settings.personas_file))
    return found


def rules(settings: Settings, approvers: list[str]) -> Rules:
    return Rules(
        roles=Roles(
            approvers=frozenset(approvers),
            editors=frozenset(settings.editors),
            people=settings.people,
        ),
        approvals_required=settings.approvals_required,
        allow_self_approval=settings.allow_self_approval,
        max_items=settings.max_items,
        max_text_chars=settings.max_text_chars,
        approval_expiry_hours=settings.approval_expiry_hours,
    )


def open_database(settings: Settings) -> Database:
    """The database the settings name: PostgreSQL at DATABASE_URL, else the SQLite file."""
    url = settings.database_url.get_secret_value() if settings.database_url else None
    try:
        return backend.database(url, settings.db_path)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


@contextlib.asynccontextmanager
async def build(
    settings: Settings,
    *,
    approvers: list[str] | None = None,
    providers: Providers | None = None,
    setup_report: SetupReport | None = None,
    clock: Callable[[], float] = time.time,
    jobs_here: bool = True,
) -> AsyncIterator[App]:
    """Open the database, build providers and the room; close everything on the way out.

    `providers` replaces the ones the settings choose (benchmarks use fixed-latency fakes);
    `clock` is what every service reads the time from (tests move it instead of sleeping).
    On PostgreSQL the work goes through procrastinate jobs; `jobs_here` runs a worker for them
    in this process (`draftroom run`, the tests), CONCURRENT_RUNS jobs at once, from the room's
    first enqueue. Without it the process only defers jobs (`draftroom serve`) or runs its own
    workers (`draftroom worker`, with `app.jobs`).
    """
    try:
        personas = load_personas(settings.personas_file)
    except PersonaError as exc:
        raise ConfigError(str(exc)) from None
    db = open_database(settings)
    try:
        await db.open()
    except DatabaseUnusableError as exc:
        raise ConfigError(str(exc)) from None
    jobs = None
    try:
        if isinstance(db, PostgresDatabase):
            jobs = await _open_jobs(db.url, settings)
        async with httpx.AsyncClient(follow_redirects=False) as http:
            queue = None
            if jobs is not None:
                queue = ProcrastinateRunQueue(
                    jobs, work_here=settings.concurrent_runs if jobs_here else 0
                )
            room = _room(
                settings, db, http, personas, approvers, providers, setup_report, clock, queue
            )
            locks = gateway_locks(db)
            if jobs is not None:
                jobs.handlers = room
            try:
                yield App(settings, room, http, locks, jobs)
            finally:
                if jobs is not None:  # first: its runs still post through the outlets
                    await jobs.stop_worker()
                await locks.close()
                await room.deps.outlets.close()
    finally:
        if jobs is not None:
            await jobs.close()
        await db.close()


async def _open_jobs(url: str, settings: Settings) -> JobQueue:
    """procrastinate on the database: its tables made if missing (once, whoever starts first)."""
    await ensure_schema(url)
    jobs = JobQueue(url, pool_size=settings.concurrent_runs + 3)
    await jobs.open()
    return jobs


def secrets_sealer(settings: Settings) -> Sealer | None:
    """What seals the credentials a workspace enters (SECRETS_KEY); None when it is not set."""
    if settings.secrets_key is None:
        return None
    try:
        return Sealer(settings.secrets_key.get_secret_value())
    except SealingKeyError as exc:
        raise ConfigError(str(exc)) from None


def _room(
    settings: Settings,
    db: Database,
    http: httpx.AsyncClient,
    personas: Personas,
    approvers: list[str] | None,
    providers: Providers | None,
    setup_report: SetupReport | None = None,
    clock: Callable[[], float] = time.time,
    jobs: ProcrastinateRunQueue | None = None,
) -> DraftRoom:
    """Every service built once, each given what it uses; nothing is wired after this.
    `jobs`: the run queue on PostgreSQL (procrastinate's workers run the runs, not the room's)."""
    process = process_id()
    if providers is None:
        images, video = media_providers(settings, http)
        providers = Providers(text_provider(settings, http), images, video)
    media = MediaStore(settings.media_dir)
    sealer = secrets_sealer(settings)
    destinations = outlets(settings, personas, http, db=db, sealer=sealer)
    pipeline = Pipeline(
        db,
        providers,
        personas,
        media,
        Budget(settings.daily_budget_usd, clock, owner=process),
        retry=RetryPolicy(
            max_attempts=settings.max_attempts,
            base_s=settings.retry_base_s,
            timeout_s=settings.step_timeout_s,
        ),
        aspect_ratios=settings.aspect_ratios,
        limits=Limits(
            text=settings.text_concurrency,
            image=settings.image_concurrency,
            video=settings.video_concurrency,
        ),
        clock=clock,
        outlets=destinations,
    )
    ports = ChatPorts()
    posting = Posting(db, ports, clock)
    links = ShareLinks(
        db,
        enabled=settings.shared_links,
        ttl_s=settings.share_link_hours * 3600,
        clock=clock,
        key=settings.web_secret_key.get_secret_value() if settings.web_secret_key else None,
        base_url=settings.public_base_url,
    )
    deps = Deps(
        db=db,
        pipeline=pipeline,
        queue=SqliteRunQueue(db, owner=process) if jobs is None else jobs,
        personas=personas,
        outlets=destinations,
        media=media,
        rules=rules(settings, settings.approvers if approvers is None else approvers),
        ports=ports,
        posting=posting,
        setup_report=setup_report,
        progress=Progress(db, ports, posting, links),
        links=links,
        clock=clock,
        process=process,
        sealer=sealer,
    )
    workers = settings.concurrent_runs if jobs is None else 0
    lease = settings.process_lease_s
    # Several beats to a lease, however short one is set: a live process is never taken over.
    beat = min(HEARTBEAT_S, lease / 4)
    return DraftRoom(deps, workers=workers, lease_s=lease, heartbeat_s=beat)


def process_id() -> str:
    """This process among those sharing the database: unique, and readable by an operator."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
