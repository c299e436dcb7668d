"""All settings, read once at start-up from the environment and `.env`, then passed down."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from handlers.people import parse_people

EXAMPLE_PERSONAS = Path(__file__).resolve().parent.parent / "pipeline" / "personas.example.toml"


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", populate_by_name=True, env_ignore_empty=True
    )

    # Storage and files
    db_path: Path = Field(Path("draftroom.db"), alias="DRAFTROOM_DB")
    # postgresql://user:password@host/db: PostgreSQL instead of the SQLite file (README:
    # "Deploying past one machine"). A SecretStr: it carries the password.
    database_url: SecretStr | None = Field(None, alias="DATABASE_URL")
    media_dir: Path = Field(Path("media"), alias="DRAFTROOM_MEDIA_DIR")
    outbox_dir: Path = Field(Path("outbox"), alias="DRAFTROOM_OUTBOX_DIR")
    personas_file: Path = Field(EXAMPLE_PERSONAS, alias="PERSONAS_FILE")

    # Approval
    approvers: Annotated[list[str], NoDecode] = Field(default_factory=list, alias="APPROVERS")
    approvals_required: int = Field(1, ge=1, alias="APPROVALS_REQUIRED")
    allow_self_approval: bool = Field(False, alias="ALLOW_SELF_APPROVAL")
    # Who may change and spend on others' plans besides their proposer and the approvers; with
    # it set, /propose and /ask are theirs and the approvers' too (see handlers/people.py).
    editors: Annotated[list[str], NoDecode] = Field(default_factory=list, alias="EDITORS")
    # One person's ids on several platforms: `aaron=slack:U0AB12+discord:4242;bea=slack:U0CD`.
    people: Annotated[dict[str, frozenset[str]], NoDecode] = Field(
        default_factory=dict, alias="PEOPLE"
    )
    console_user: str = Field("writer", alias="CONSOLE_USER")
    # A draft not approved within this many hours becomes `expired` (handlers/expiry.py).
    approval_expiry_hours: float = Field(72.0, gt=0, alias="APPROVAL_EXPIRY_HOURS")

    # Money and limits
    daily_budget_usd: float = Field(5.0, ge=0, alias="DAILY_BUDGET_USD")
    max_items: int = Field(10, ge=1, le=100, alias="MAX_ITEMS")
    max_text_chars: int = Field(2000, ge=100, alias="MAX_TEXT_CHARS")

    # Pipeline behaviour
    step_timeout_s: float = Field(300.0, gt=0, alias="STEP_TIMEOUT_S")
    max_attempts: int = Field(4, ge=1, le=10, alias="PROVIDER_MAX_ATTEMPTS")
    retry_base_s: float = Field(1.0, ge=0, alias="RETRY_BASE_S")
    text_concurrency: int = Field(4, ge=1, alias="TEXT_CONCURRENCY")
    image_concurrency: int = Field(4, ge=1, alias="IMAGE_CONCURRENCY")
    video_concurrency: int = Field(2, ge=1, alias="VIDEO_CONCURRENCY")
    concurrent_runs: int = Field(4, ge=1, alias="CONCURRENT_RUNS")
    # Processes sharing a PostgreSQL database: one silent this long has stopped, and another
    # takes over its runs, calls and publishing (README: "Deploying past one machine").
    process_lease_s: float = Field(60.0, ge=1, alias="PROCESS_LEASE_S")

    # Publishing
    # A credential (secret path, ?token=): chat names it by host only, logs not at all.
    publish_webhook_url: SecretStr | None = Field(None, alias="PUBLISH_WEBHOOK_URL")
    publish_webhook_secret: SecretStr | None = Field(None, alias="PUBLISH_WEBHOOK_SECRET")

    # Text model
    llm_provider: Literal["offline", "openai", "anthropic"] = Field("offline", alias="LLM_PROVIDER")
    llm_base_url: str | None = Field(None, alias="LLM_BASE_URL")
    llm_api_key: SecretStr | None = Field(None, alias="LLM_API_KEY")
    llm_model: str | None = Field(None, alias="LLM_MODEL")
    llm_price_input: float | None = Field(None, ge=0, alias="LLM_PRICE_INPUT_PER_MTOK")
    llm_price_output: float | None = Field(None, ge=0, alias="LLM_PRICE_OUTPUT_PER_MTOK")
    llm_response_format: Literal["json_schema", "json_object", "none"] = Field(
        "json_schema", alias="LLM_RESPONSE_FORMAT"
    )
    # auto: max_completion_tokens for OpenAI reasoning models (o1, o3, o4, gpt-5), else max_tokens.
    llm_token_limit_param: Literal["auto", "max_tokens", "max_completion_tokens"] = Field(
        "auto", alias="LLM_TOKEN_LIMIT_PARAM"
    )
    # auto: 0.2, none for reasoning models; none: never sent; a number: always sent.
    llm_temperature: Annotated[float, Field(ge=0, le=2)] | Literal["auto", "none"] = Field(
        "auto", alias="LLM_TEMPERATURE"
    )

    # Images and video on fal
    fal_key: SecretStr | None = Field(None, alias="FAL_KEY")
    fal_queue_url: str = Field("https://queue.fal.run", alias="FAL_QUEUE_URL")
    # fal's Platform API: `draftroom doctor` checks the key and models on its free pricing read.
    fal_api_url: str = Field("https://api.fal.ai/v1", alias="FAL_API_URL")
    image_model: str = Field("fal-ai/flux-pro/v1.1-ultra", alias="IMAGE_MODEL")
    video_model: str | None = Field(None, alias="VIDEO_MODEL")
    # Unset: fal when FAL_KEY and VIDEO_MODEL are set, else the local renderer (bot/bootstrap.py).
    video_provider: Literal["fal", "local"] | None = Field(None, alias="VIDEO_PROVIDER")
    image_output_format: Literal["jpeg", "png"] = Field("jpeg", alias="IMAGE_OUTPUT_FORMAT")
    image_safety_tolerance: str = Field("2", pattern=r"^[1-6]$", alias="IMAGE_SAFETY_TOLERANCE")
    aspect_ratios: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict, alias="ASPECT_RATIOS"
    )
    image_price_usd: float | None = Field(None, ge=0, alias="IMAGE_PRICE_USD")
    video_price_usd: float | None = Field(None, ge=0, alias="VIDEO_PRICE_USD")
    media_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["fal.media", "*.fal.media"], alias="MEDIA_HOSTS"
    )
    fal_poll_interval_s: float = Field(1.0, gt=0, le=60, alias="FAL_POLL_INTERVAL_S")
    media_max_bytes: int = Field(50_000_000, ge=1, alias="MEDIA_MAX_BYTES")

    # Slack
    slack_bot_token: SecretStr | None = Field(None, alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(None, alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(None, alias="SLACK_APP_TOKEN")
    slack_port: int = Field(3000, alias="SLACK_PORT")
    slack_api_url: str = Field("https://slack.com/api/", alias="SLACK_API_URL")
    # Installing in many workspaces (OAuth v2): with both set, each workspace installs draftroom
    # from /slack/install and SLACK_BOT_TOKEN is not used (bot/slack_oauth.py).
    slack_client_id: str | None = Field(None, alias="SLACK_CLIENT_ID")
    slack_client_secret: SecretStr | None = Field(None, alias="SLACK_CLIENT_SECRET")
    slack_oauth_url: str = Field("https://slack.com/oauth/v2/authorize", alias="SLACK_OAUTH_URL")
    # Seals the installed workspaces' tokens in the database: Fernet keys, comma-separated, the
    # first sealing and all opening (storage/sealing.py).
    secrets_key: SecretStr | None = Field(None, alias="SECRETS_KEY")

    # Discord
    discord_bot_token: SecretStr | None = Field(None, alias="DISCORD_BOT_TOKEN")
    discord_guild_id: int | None = Field(None, alias="DISCORD_GUILD_ID")
    discord_api_url: str = Field("https://discord.com/api/v10", alias="DISCORD_API_URL")
    discord_gateway_url: str | None = Field(None, alias="DISCORD_GATEWAY_URL")
    # Gateway shards: SHARD_COUNT in all, this process serving SHARD_IDS (unset: all of them),
    # each only while it holds that shard's lock in the database (bot/discord_client_shards.py).
    shard_count: int = Field(1, ge=1, alias="SHARD_COUNT")
    shard_ids: Annotated[list[int] | None, NoDecode] = Field(None, alias="SHARD_IDS")

    # Social networks (each persona's destinations are in the personas file)
    bluesky_service_url: str = Field("https://bsky.social", alias="BLUESKY_SERVICE_URL")
    x_api_url: str = Field("https://api.x.com", alias="X_API_URL")

    # Web pages (post page, library, runs, costs): served on the Slack HTTP-mode server when
    # there is one, else on WEB_HOST:WEB_PORT. Every page is opened by a signed, expiring link.
    web_host: str = Field("127.0.0.1", alias="WEB_HOST")
    web_port: int = Field(8080, ge=0, le=65535, alias="WEB_PORT")
    # Where others reach the pages (https://draftroom.example.com); unset, the bound address.
    public_base_url: str | None = Field(
        None, pattern=r"^https?://[^/?#\s]+(/[^?#\s]*)?$", alias="PUBLIC_BASE_URL"
    )
    # Signs the links; unset, a key is made once and kept in the database.
    web_secret_key: SecretStr | None = Field(None, alias="WEB_SECRET_KEY")
    shared_links: bool = Field(True, alias="SHARED_LINKS")
    share_link_hours: float = Field(720.0, gt=0, alias="SHARE_LINK_HOURS")

    offline_latency_s: float = Field(0.0, ge=0, le=60, alias="OFFLINE_LATENCY_S")

    log_level: str = Field("INFO", alias="LOG_LEVEL")

    _split = field_validator("approvers", "editors", "media_hosts", mode="before")(_split_csv)

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _shard_list(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        parts = [part.strip() for part in value.split(",") if part.strip()]
        if not all(part.isdigit() for part in parts):
            raise ValueError(f"write SHARD_IDS as shard numbers like 0,1, not {value!r}")
        return [int(part) for part in parts] or None

    @model_validator(mode="after")
    def _shards_fit(self) -> Settings:
        ids = self.shard_ids or []
        if len(set(ids)) != len(ids):
            raise ValueError(f"SHARD_IDS names a shard twice: {ids}")
        if outside := [i for i in ids if not 0 <= i < self.shard_count]:
            raise ValueError(
                f"SHARD_IDS {outside} are not shards of SHARD_COUNT={self.shard_count} "
                f"(0 to {self.shard_count - 1})"
            )
        return self

    @property
    def discord_shards(self) -> list[int]:
        """The shards this process serves when it holds their locks."""
        return list(range(self.shard_count)) if self.shard_ids is None else list(self.shard_ids)

    @field_validator("people", mode="before")
    @classmethod
    def _people(cls, value: object) -> object:
        return parse_people(value) if isinstance(value, str) else value

    @field_validator("aspect_ratios", mode="before")
    @classmethod
    def _pairs(cls, value: object) -> object:
        """`hero_text=3:4,video=9:16` → {"hero_text": "3:4", "video": "9:16"}."""
        if not isinstance(value, str):
            return value
        pairs = {}
        for part in filter(None, (p.strip() for p in value.split(","))):
            name, sep, ratio = part.partition("=")
            if not sep or not re.fullmatch(r"[0-9]{1,2}:[0-9]{1,2}", ratio.strip()):
                raise ValueError(f"write ASPECT_RATIOS like hero_text=3:4,video=9:16, not {part!r}")
            pairs[name.strip()] = ratio.strip()
        return pairs

    @property
    def slack_oauth(self) -> bool:
        """Many workspaces, each installing through OAuth, instead of one SLACK_BOT_TOKEN."""
        return bool(self.slack_client_id) and self.slack_client_secret is not None

    @property
    def slack_enabled(self) -> bool:
        return self.slack_bot_token is not None or self.slack_oauth

    @property
    def discord_enabled(self) -> bool:
        return self.discord_bot_token is not None

    def secrets(self) -> list[str]:
        """Every configured secret value, for the log filter that scrubs them."""
        values = [
            self.publish_webhook_secret,
            self.llm_api_key,
            self.fal_key,
            self.slack_bot_token,
            self.slack_signing_secret,
            self.slack_app_token,
            self.slack_client_secret,
            self.secrets_key,
            self.discord_bot_token,
            self.web_secret_key,
        ]
        if self.publish_webhook_url is not None:
            values.append(self.publish_webhook_url)  # its pieces: bot.bootstrap.log_secrets
        return [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]
