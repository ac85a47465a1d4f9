"""One settings object for the whole application, read from the environment and `.env`."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import SplitResult, urlsplit
from zoneinfo import ZoneInfo

from dotenv import dotenv_values
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from foundation import regex_cache
from foundation.timemath import UnknownZone, load_zone

PROJECT_ROOT = Path(__file__).resolve().parents[1]
_INSTALLED_MESSAGES = Path(__file__).resolve().parent / "bundled_messages"
# An installed wheel carries the texts as bot/bundled_messages; a checkout (and an editable
# install) reads them where they are kept, messages/ at the top of the repository.
BUNDLED_MESSAGES_DIR = (
    _INSTALLED_MESSAGES if _INSTALLED_MESSAGES.is_dir() else PROJECT_ROOT / "messages"
)
OFFICIAL_API_URL = "https://api.telegram.org"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/companion.db"
SEND_RATE = 28.0
"""The recommended send rate, messages a second for all replicas together (the default)."""
# Where /healthz and /metrics listen in webhook mode when OPS_PORT is not set.
DEFAULT_WEBHOOK_OPS_PORT = 9101
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def _https_url(value: str) -> tuple[SplitResult, bool]:
    """``value`` split, and whether its scheme is https, or http to this machine (for tests
    and a local relay): what every URL the bot calls or is called at must be."""
    parts = urlsplit(value)
    loopback = parts.hostname in _LOOPBACK_HOSTS
    return parts, parts.scheme == "https" or (parts.scheme == "http" and loopback)


# A "#" after white space: a comment written after a value. python-dotenv (.env) drops it, but
# systemd's EnvironmentFile= keeps everything after "=" as the value: `WEB_PORT=8081   # 8082`
# is the string "8081   # 8082" there.
_INLINE_COMMENT = re.compile(r"\s#")
INTAKE_KEY_MIN_BYTES = 32
"""As bot/intake/patient_ref.py's MIN_SECRET_BYTES (checked in a test): settings import no
other module of the bot."""
_SOURCE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
"""A source's name (bot/intake/rows.py's SOURCE_PATTERN)."""


INTAKE_SOURCE_PATTERN = _SOURCE
"""The same, public: this module is the lowest layer and may not import bot/intake/rows.py;
a test checks the two agree."""
WEBHOOK_SECRET_MIN_BYTES = 32
"""The shortest secret an integration's webhook may be signed with (HMAC-SHA256's block of
output: a shorter one is easier to guess than the signature it makes)."""
DEFAULT_CALENDAR_DOMAIN = "companion.local"


class IntakeWebhook(BaseModel):
    """Where one source's events go (INTAKE_WEBHOOKS): a URL, https (plain http only to
    this machine, for tests and a local relay), and the secret they are signed with."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str
    secret: SecretStr

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        value = value.strip()
        parts, secure = _https_url(value)
        if not secure:
            raise ValueError("a webhook URL must start with https:// (http:// only to localhost)")
        if not parts.hostname:
            raise ValueError("a webhook URL has no host")
        if parts.username or parts.password:
            raise ValueError("a webhook URL must not hold a user or password")
        return value

    @field_validator("secret")
    @classmethod
    def _check_secret(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value().encode("utf-8")) < WEBHOOK_SECRET_MIN_BYTES:
            raise ValueError(
                f"a webhook secret must be at least {WEBHOOK_SECRET_MIN_BYTES} bytes "
                "(python -c 'import secrets; print(secrets.token_hex(32))')"
            )
        return value


class Settings(BaseSettings):
    """Runtime configuration. Every field is documented in `.env.example`."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    bot_token: SecretStr | None = None
    telegram_api_url: str = OFFICIAL_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    messages_dir: Path = BUNDLED_MESSAGES_DIR
    clinic_timezone: str = "America/New_York"
    staff_ids: Annotated[frozenset[int], NoDecode] = Field(default_factory=frozenset)
    log_level: str = "INFO"
    default_language: str = "en"
    polling_timeout: int = Field(default=25, ge=1, le=50)
    shutdown_grace_seconds: float = Field(default=20.0, ge=0)
    # Sending (reminders and alerts): Telegram allows about 30 messages/s overall and 1/s per chat.
    # 28, not 30: messages leave replicas with some jitter, and at the cap itself a second with
    # 31 comes again and again (bench/README.md, the replica test).
    send_rate: float = Field(default=SEND_RATE, ge=0, le=1000)
    send_chat_interval: float = Field(default=1.0, ge=0, le=60)
    # Reminder engine. The lease is renewed while a claim is being sent: it bounds how long the
    # reminders of a replica that died wait, not how long a send may take.
    reminder_lease_seconds: float = Field(default=10.0, ge=1, le=3600)
    reminder_batch: int = Field(default=200, ge=1, le=5000)
    reminder_concurrency: int = Field(default=32, ge=1, le=1000)
    housekeeping_seconds: float = Field(default=60.0, ge=1, le=3600)
    # Days an invite link stays usable (never past the start of its visit).
    invite_ttl_days: int = Field(default=7, ge=1, le=90)
    # aiogram's models built on first use (bot/lazy_aiogram.py); false imports aiogram as shipped.
    lazy_aiogram: bool = True
    # Shared state for several replicas: conversation state and the send limits (rate, 429
    # pauses) live in Redis. Unset: in the database and the process. May carry a password.
    redis_url: SecretStr | None = None
    # The start of every Redis key of this bot (several bots or test runs may share a Redis).
    redis_prefix: str = "infusion-companion"
    # Webhook mode (several replicas behind a load balancer). Unset: long polling.
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    # The aiohttp server of the webhook (and, later, the staff pages).
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=1, le=65535)
    webhook_path: str = "/telegram/webhook"
    # /healthz and /metrics on their own port. Unset: off in polling mode, 9101 in webhook
    # mode; 0: off.
    ops_host: str = "127.0.0.1"
    ops_port: int | None = Field(default=None, ge=0, le=65535)
    # "text" (one readable line per event) or "json" (one JSON object per line).
    log_format: Literal["text", "json"] = "text"
    # Appointments, reminders, alerts and audit detail older than this are deleted nightly.
    retention_days: int = Field(default=180, ge=1, le=3650)
    # The HTTP API for scheduling systems (/api/v1, bot/web/api.py) on WEB_HOST:WEB_PORT, in
    # polling mode too (webhook mode serves that address anyway). Off by default.
    api_enabled: bool = False
    # The largest request body the API reads, in bytes (a visit is a few hundred).
    api_max_body: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    # Calls a minute each token may make (and the burst it may make at once); over it: 429.
    api_rate_per_minute: float = Field(default=600.0, gt=0, le=1_000_000)
    api_burst: int = Field(default=60, ge=1, le=100_000)
    # FHIR: an Appointment identifier's system URI -> the source it names (a JSON object),
    # and an appointmentType coding ("system|code", or "code" for any system) -> a visit type.
    fhir_sources: dict[str, str] = Field(default_factory=dict)
    fhir_visit_types: dict[str, str] = Field(default_factory=dict)
    # Visits from the clinic's schedule (issue 21; docs/intake-csv.md). The secret patient
    # references are keyed with (HMAC; at least 32 bytes): unset, no import is made.
    intake_patient_key: SecretStr | None = None
    # Per source, the source's words for a status and for a visit type (JSON), e.g.
    # {"acme": {"Scheduled": "booked", "Canceled": "cancelled"}}.
    intake_statuses: dict[str, dict[str, str]] = Field(default_factory=dict)
    intake_visit_types: dict[str, dict[str, str]] = Field(default_factory=dict)
    # The source a CSV sent to the bot in Telegram is read as (the command line's --source
    # default too).
    intake_csv_source: str = "csv"
    # The bot's @username, for the invite links the command line makes (`visits import`);
    # the running bot asks Telegram instead.
    bot_username: str | None = None
    # Signed events to the clinic's systems (bot/delivery/intake_events.py): per source, a
    # JSON object {"<source>": {"url": "https://...", "secret": "<32 bytes or more>"}}. A
    # source without an entry gets no events. Holds secrets.
    intake_webhooks: dict[str, IntakeWebhook] = Field(default_factory=dict)
    # Attempts at one event before it is given up (failed); the wait between them doubles
    # from 15 s up to an hour, with jitter.
    intake_webhook_attempts: int = Field(default=16, ge=1, le=100)
    # Seconds one POST may take (connecting, sending, the answer) before it counts as failed.
    intake_webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # The domain of the UID of "Add to calendar" files (the clinic's own domain, say). Unset:
    # the host of WEBHOOK_URL, else companion.local.
    calendar_domain: str | None = None
    # Where the crisis screen's compiled patterns are kept between starts (seconds of every
    # start otherwise; foundation/regex_cache.py). Empty: compiled at every start.
    pattern_cache_dir: Path | None = Field(default_factory=regex_cache.default_directory)

    @field_validator("pattern_cache_dir", mode="before")
    @classmethod
    def _no_pattern_cache(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("staff_ids", mode="before")
    @classmethod
    def _split_staff_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p for p in value.replace(";", ",").replace(" ", ",").split(",") if p]
            try:
                return frozenset(int(p) for p in parts)
            except ValueError as exc:
                raise ValueError("STAFF_IDS must be Telegram user ids separated by commas") from exc
        if isinstance(value, int):
            return frozenset({value})
        return value

    @field_validator("clinic_timezone")
    @classmethod
    def _check_zone(cls, value: str) -> str:
        try:
            return load_zone(value).key
        except UnknownZone as exc:
            raise ValueError(f"CLINIC_TIMEZONE {value!r} is not an IANA time zone name") from exc

    @field_validator("telegram_api_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("TELEGRAM_API_URL must start with http:// or https://")
        return value

    @field_validator("log_level")
    @classmethod
    def _upper(cls, value: str) -> str:
        value = value.strip().upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _check_webhook_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        parts, secure = _https_url(value)
        if not secure:
            raise ValueError("WEBHOOK_URL must start with https:// (Telegram only calls https)")
        if not parts.hostname:
            raise ValueError("WEBHOOK_URL has no host")
        return value

    @field_validator("webhook_path")
    @classmethod
    def _check_webhook_path(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith("/") or any(c.isspace() for c in value):
            raise ValueError("WEBHOOK_PATH must start with / and hold no spaces")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _check_webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        secret = value.get_secret_value()
        # Telegram's rule for secret_token: 1-256 of A-Z, a-z, 0-9, _ and -.
        if len(secret) > 256 or not all(c.isascii() and (c.isalnum() or c in "_-") for c in secret):
            raise ValueError("WEBHOOK_SECRET must be 1-256 letters, digits, _ or -")
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if urlsplit(value.get_secret_value().strip()).scheme not in ("redis", "rediss", "unix"):
            raise ValueError("REDIS_URL must start with redis://, rediss:// or unix://")
        return value

    @field_validator("intake_patient_key")
    @classmethod
    def _check_intake_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if len(value.get_secret_value().encode("utf-8")) < INTAKE_KEY_MIN_BYTES:
            # The value itself is not repeated: it is a secret.
            raise ValueError(
                f"INTAKE_PATIENT_KEY must be at least {INTAKE_KEY_MIN_BYTES} bytes "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
            )
        return value

    @field_validator("intake_csv_source")
    @classmethod
    def _check_intake_source(cls, value: str) -> str:
        value = value.strip()
        if not _SOURCE.fullmatch(value):
            raise ValueError(
                "INTAKE_CSV_SOURCE must be 1 to 64 lower-case letters, digits, '_', '.' or '-'"
            )
        return value

    @field_validator("intake_statuses", "intake_visit_types")
    @classmethod
    def _check_intake_sources(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        """Source names only; the words' targets (a status, a visit type) are checked when
        the intake rules are built from them (bot/services/intake.py)."""
        bad = sorted(source for source in value if not _SOURCE.fullmatch(source))
        if bad:
            raise ValueError(
                f"{bad} are not source names (lower-case letters, digits, '_', '.' or '-')"
            )
        return value

    @field_validator("redis_prefix")
    @classmethod
    def _check_redis_prefix(cls, value: str) -> str:
        value = value.strip()
        if not value or any(c.isspace() or c in "*?[]{}" for c in value):
            raise ValueError("REDIS_PREFIX must be non-empty, without spaces, *, ?, [, ], { or }")
        return value

    @field_validator("intake_webhooks")
    @classmethod
    def _check_webhook_sources(cls, value: dict[str, IntakeWebhook]) -> dict[str, IntakeWebhook]:
        for source in value:
            if INTAKE_SOURCE_PATTERN.fullmatch(source) is None:
                raise ValueError(
                    f"INTAKE_WEBHOOKS: {source!r} is not a source name (lower-case letters, "
                    "digits, _ . -)"
                )
        return value

    @field_validator("calendar_domain")
    @classmethod
    def _check_calendar_domain(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().lower()
        if not re.fullmatch(r"[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?", value):
            raise ValueError("CALENDAR_DOMAIN must be a domain name (letters, digits, . and -)")
        return value

    # Last of the field validators: "before" validators run last-defined first, so this one
    # speaks before a field's own parser (STAFF_IDS') would refuse the value for another reason.
    @field_validator("*", mode="before")
    @classmethod
    def _no_comment_after_the_value(cls, value: object) -> object:
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(raw, str) and _INLINE_COMMENT.search(raw):
            # The value itself is not repeated: it may be a token or hold a password.
            raise ValueError(
                "the value ends with a comment (' #...'); systemd keeps everything after '=' "
                "as the value: put the comment on a line of its own"
            )
        return value

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.webhook_url is not None and self.webhook_secret is None:
            raise ValueError(
                "WEBHOOK_SECRET must be set with WEBHOOK_URL (it proves a request is Telegram's)"
            )
        return self

    @property
    def intake_enabled(self) -> bool:
        """Whether visits can be imported (INTAKE_PATIENT_KEY is set)."""
        return self.intake_patient_key is not None

    @property
    def webhook_mode(self) -> bool:
        return self.webhook_url is not None

    @property
    def ops_listen_port(self) -> int | None:
        """The port of /healthz and /metrics, or None when they are off."""
        if self.ops_port is None:
            return DEFAULT_WEBHOOK_OPS_PORT if self.webhook_mode else None
        return self.ops_port or None

    @property
    def calendar_uid_domain(self) -> str:
        """The domain of calendar files' UIDs: CALENDAR_DOMAIN, else WEBHOOK_URL's host."""
        if self.calendar_domain:
            return self.calendar_domain
        host = urlsplit(self.webhook_url).hostname if self.webhook_url else None
        return host or DEFAULT_CALENDAR_DOMAIN

    @cached_property
    def clinic_zone(self) -> ZoneInfo:
        return load_zone(self.clinic_timezone)

    def sqlite_path(self) -> Path | None:
        """The file behind a SQLite URL, so its folder can be created; None for other databases."""
        prefix = "sqlite+aiosqlite:///"
        if not self.database_url.startswith(prefix):
            return None
        raw = self.database_url[len(prefix) :].split("?", 1)[0]
        if not raw or raw == ":memory:":
            return None
        return Path(raw)


def unknown_settings(environ: Mapping[str, str], env_file: Path | None = Path(".env")) -> list[str]:
    """One line for each name that is meant as a setting but is none, so it would be ignored
    without a word: every key of `env_file` (a `.env`) that is not a setting, and every
    environment variable spelt almost like one (CLINC_TIMEZONE). Names are compared as the
    settings read them, whatever their case. The closest setting is named."""
    known = sorted(name.upper() for name in Settings.model_fields)
    lines: list[str] = []
    from_file = (
        [k for k in dotenv_values(env_file) if k]
        if env_file is not None and env_file.is_file()
        else []
    )
    for name in from_file:
        if name.upper() not in known:
            lines.append(_unknown(name, f"in {env_file}", known))
    for name in sorted(environ):
        if name.upper() in known or name in from_file:
            continue
        # Other programs' variables (PATH, LANG, INVOCATION_ID...) are no concern; only a
        # name this close to a setting is taken for a misspelt one.
        if difflib.get_close_matches(name.upper(), known, n=1, cutoff=0.85):
            lines.append(_unknown(name, "in the environment", known))
    return lines


def _unknown(name: str, where: str, known: list[str]) -> str:
    closest = difflib.get_close_matches(name.upper(), known, n=1, cutoff=0.6)
    hint = f"; did you mean {closest[0]}?" if closest else ""
    return f"{name} ({where}) is not a setting and is ignored{hint}"
