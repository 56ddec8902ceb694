"""One Settings object, read from the environment, `.env` and an optional JSON or TOML file.

Precedence (highest first): process environment, `.env`, the file named by `BOZOR_CONFIG`,
defaults. Names are the upper-case field names (`BOT_TOKEN`, `DATABASE_URL`, ...).
"""

from __future__ import annotations

import base64
import json
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

TELEGRAM_API_URL = "https://api.telegram.org"
FEATURES = ("referrals", "lotteries")  # the feature packages this version has
PLANNED_FEATURES = ("shop", "classifieds")  # named in the product, not built yet
LANGUAGES = ("en", "ru", "uz")
_TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")


class SettingsError(Exception):
    """Start-up configuration is wrong; `str()` is one line per problem, naming the setting."""


class ConfigFileSource(PydanticBaseSettingsSource):
    """Values from the JSON or TOML file named by `BOZOR_CONFIG` (keys in any case)."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self._data = self._load(os.environ.get("BOZOR_CONFIG"))

    @staticmethod
    def _load(path_text: str | None) -> dict[str, Any]:
        if not path_text:
            return {}
        path = Path(path_text)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise SettingsError(f"BOZOR_CONFIG: cannot read {path}: {exc.strerror}") from exc
        try:
            data = tomllib.loads(raw.decode()) if path.suffix == ".toml" else json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise SettingsError(f"BOZOR_CONFIG: {path} is not valid: {exc}") from exc
        if not isinstance(data, dict):
            raise SettingsError(f"BOZOR_CONFIG: {path} must hold an object of settings")
        return {str(k).lower(): v for k, v in data.items()}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in self._data.items() if k in self.settings_cls.model_fields}


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Every setting Bozor reads. See the configuration reference in the README."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    # Telegram
    bot_token: SecretStr | None = None
    telegram_api_url: str = TELEGRAM_API_URL
    webhook_url: str | None = None  # public https URL; when set the bot uses webhooks
    webhook_path: str = "/telegram/webhook"
    webhook_secret: SecretStr | None = None
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    features: Annotated[list[str], NoDecode] = Field(default_factory=lambda: list(FEATURES))
    default_language: Literal["en", "ru", "uz"] = "en"

    # Storage
    database_url: str = "sqlite+aiosqlite:///./bozor.sqlite3"
    database_echo: bool = False
    database_pool_size: int = Field(default=20, ge=1, le=500)  # PostgreSQL connections
    redis_url: str | None = None
    redis_prefix: str = Field(default="bozor", pattern=r"^[A-Za-z0-9_.:-]{1,64}$")

    # HTTP server (webhook endpoint now; the REST API later)
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)

    # REST API
    api_secret: SecretStr | None = None  # signs API tokens; default derived from BOT_TOKEN
    api_token_minutes: int = Field(default=15, ge=1, le=24 * 60)
    public_url: str | None = None  # where /r/{code} links point; default http://HTTP_HOST:PORT
    referral_landing_url: str | None = None  # /r/{code} redirects here ({code} filled in)
    attribution_days: int = Field(default=30, ge=1, le=365)  # click → sign-up window
    reward_per_referral: int = Field(default=10, ge=0)  # bonus points per confirmed referral
    reward_welcome: int = Field(default=10, ge=0)  # for the new user (double-sided); 0 = off
    reward_tiers: str = "Bronze:5:50,Silver:10:150,Gold:20:500"  # name:referrals:points
    # Held for review: more sign-ups than this from one visitor (click fingerprint) in a day,
    # or through one referrer within VELOCITY_WINDOW_MINUTES; 0 switches a check off.
    velocity_per_visitor: int = Field(default=3, ge=0)
    velocity_burst: int = Field(default=50, ge=0)
    velocity_window_minutes: int = Field(default=10, ge=1, le=24 * 60)
    # Customisation hooks: "package.module:name" of an object implementing the interface in
    # bozor.referrals.hooks; empty = the default.
    referral_validator: str | None = None
    reward_calculator: str | None = None
    referral_notifier: str | None = None
    api_rate_per_key: int = Field(default=1200, ge=0)  # requests per minute per API key; 0 = off
    api_rate_per_ip: int = Field(default=600, ge=0)  # requests per minute per client IP; 0 = off
    # Reverse proxies whose X-Forwarded-For is believed (IPs or CIDRs): rate limits and click
    # hashes then use the real client address.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    webhook_timeout: float = Field(default=10.0, gt=0, le=60)  # seconds per delivery attempt
    webhook_max_attempts: int = Field(default=12, ge=1, le=30)  # then the delivery is failed
    webhook_retry_seconds: float = Field(default=10.0, gt=0)  # first back-off; doubles, ≤ 6 h
    # Fernet keys for secrets stored in the database, comma-separated: the first encrypts, all
    # decrypt (add a new key in front to rotate). Default: derived from API_SECRET / BOT_TOKEN.
    encryption_keys: SecretStr | None = None

    # Behaviour
    throttle_rate: float = Field(default=3.0, gt=0)  # updates per second per user, sustained
    throttle_burst: int = Field(default=8, ge=1)  # updates a user may send at once
    referral_required_channel: str | None = None  # @username or -100... id; members only count
    referral_channel_url: str | None = None  # invite link shown when the channel is private
    outbox_interval: float = Field(default=0.5, gt=0)  # seconds between outbox sweeps
    outbox_chat_interval: float = Field(default=1.0, ge=0)  # seconds between messages to a chat
    auto_migrate: bool = True

    # Lotteries
    lottery_channel: str | None = None  # -100... id of the channel where results are announced
    lottery_claim_hours: float = Field(default=24.0, gt=0, le=24 * 365)  # to confirm a win
    lottery_job_interval: float = Field(default=30.0, gt=0)  # seconds between job runs
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, dotenv_settings, ConfigFileSource(settings_cls))

    @field_validator("admin_ids", "trusted_proxies", mode="before")
    @classmethod
    def _parse_lists(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("features", mode="before")
    @classmethod
    def _parse_features(cls, value: Any) -> Any:
        value = _split_csv(value)
        if value == ["all"]:
            return list(FEATURES)
        return value

    @field_validator("features")
    @classmethod
    def _known_features(cls, value: list[str]) -> list[str]:
        planned = [name for name in value if name in PLANNED_FEATURES]
        if planned:
            raise ValueError(
                f"{', '.join(planned)} not available in this version yet; "
                f"available: {', '.join(FEATURES)}"
            )
        unknown = [name for name in value if name not in FEATURES]
        if unknown:
            raise ValueError(f"unknown {', '.join(unknown)}; choose from {', '.join(FEATURES)}")
        return list(dict.fromkeys(value))

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _TOKEN_RE.match(value.get_secret_value()):
            raise ValueError("does not look like a bot token (digits, a colon, then the secret)")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.match(r"^[A-Za-z0-9_-]{1,256}$", value.get_secret_value()):
            raise ValueError("1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)")
        return value

    @field_validator("reward_tiers")
    @classmethod
    def _tiers_shape(cls, value: str) -> str:
        part = r"\s*[A-Za-z][\w ]{0,30}:\d{1,6}:\d{1,9}\s*"
        if value.strip() and not re.fullmatch(rf"{part}(,{part})*", value):
            raise ValueError(
                "name:referrals:points, comma-separated (e.g. Bronze:5:50,Gold:20:500)"
            )
        return value

    @field_validator("referral_validator", "reward_calculator", "referral_notifier")
    @classmethod
    def _dotted_path(cls, value: str | None) -> str | None:
        if value and not re.fullmatch(r"[A-Za-z_][\w.]*[:.][A-Za-z_]\w*", value.strip()):
            raise ValueError("a dotted path like mypackage.rules:my_validator")
        return value.strip() if value else None

    @field_validator("encryption_keys")
    @classmethod
    def _fernet_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        keys = [key.strip() for key in value.get_secret_value().split(",") if key.strip()]
        try:
            for key in keys:
                if len(base64.urlsafe_b64decode(key.encode())) != 32:
                    raise ValueError
        except ValueError:
            raise ValueError(
                "comma-separated Fernet keys (make one with `bozor secret-key`)"
            ) from None
        return value if keys else None

    @field_validator("api_secret")
    @classmethod
    def _long_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("at least 32 characters (it signs API tokens)")
        return value

    @field_validator("referral_required_channel")
    @classmethod
    def _channel_shape(cls, value: str | None) -> str | None:
        if value and not re.match(r"^(@[A-Za-z][A-Za-z0-9_]{3,31}|-100\d{5,})$", value):
            raise ValueError("a public channel's @username or its -100... id")
        return value or None

    @model_validator(mode="after")
    def _webhook_over_https(self) -> Settings:
        # Telegram only calls https webhooks; a local Bot API server or the emulator may not.
        if (
            self.webhook_url
            and self.telegram_api_url == TELEGRAM_API_URL
            and not self.webhook_url.startswith("https://")
        ):
            raise ValueError("WEBHOOK_URL: Telegram calls webhooks over https only")
        return self

    @field_validator("telegram_api_url", "webhook_url", "public_url", "referral_landing_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/") if value else value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        """Accept plain `sqlite://` and `postgresql://` URLs and pick the async drivers."""
        for plain, driver in (
            ("sqlite://", "sqlite+aiosqlite://"),
            ("postgresql://", "postgresql+asyncpg://"),
            ("postgres://", "postgresql+asyncpg://"),
        ):
            if value.startswith(plain):
                return driver + value[len(plain) :]
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must be a sqlite:// or postgresql:// URL")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis:// URL")
        return value or None

    @field_validator("lottery_channel")
    @classmethod
    def _lottery_channel_id(cls, value: str | None) -> str | None:
        if value and not re.fullmatch(r"-100\d{5,}", value.strip()):
            raise ValueError("the channel's numeric id, -100... (the bot must be its admin)")
        return value.strip() if value else None

    @property
    def lottery_channel_id(self) -> int | None:
        return int(self.lottery_channel) if self.lottery_channel else None

    def check_bot_ready(self) -> None:
        """Settings the bot itself needs; other commands (db, emulator) run without them."""
        if self.bot_token is None:
            raise SettingsError(
                "BOT_TOKEN: required to run the bot (try `bozor demo` for a bot without one)"
            )

    def is_admin(self, telegram_id: int) -> bool:
        return telegram_id in self.admin_ids


def load_settings(**overrides: Any) -> Settings:
    """Build Settings, turning validation errors into one line per wrong setting."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"]).upper()
            message = error["msg"].removeprefix("Value error, ")
            lines.append(f"{name}: {message}" if name else message)
        raise SettingsError("\n".join(lines)) from None
