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
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from bozor import localtime

if TYPE_CHECKING:
    from bozor.payments.portmone import PortmoneConfig

TELEGRAM_API_URL = "https://api.telegram.org"
PORTMONE_URL = "https://www.portmone.com.ua/gateway/"  # Portmone's production JSON gateway


def _feature_packages() -> tuple[str, ...]:
    """Bozor's packages with a manifest (`<name>/feature.py`): the names FEATURES accepts."""
    root = resources.files("bozor")
    return tuple(
        sorted(
            item.name
            for item in root.iterdir()
            if item.is_dir() and item.joinpath("feature.py").is_file()
        )
    )


FEATURES = _feature_packages()
LANGUAGES = ("en", "ru", "uz")
# A public channel's @username or its -100... id.
CHANNEL_PATTERN = r"@[A-Za-z][A-Za-z0-9_]{3,31}|-100\d{5,}"
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
    # Channel ids Telegram gave for @usernames at start-up (see resolve_channel).
    _channel_ids: dict[str, int] = PrivateAttr(default_factory=dict)

    # Telegram
    bot_token: SecretStr | None = None
    telegram_api_url: str = TELEGRAM_API_URL
    webhook_url: str | None = None  # public https URL; when set the bot uses webhooks
    webhook_path: str = "/telegram/webhook"
    webhook_secret: SecretStr | None = None
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    features: Annotated[list[str], NoDecode] = Field(default_factory=lambda: list(FEATURES))
    default_language: Literal["en", "ru", "uz"] = "en"
    # The community's IANA time zone: times are shown in it and typed in it (stored in UTC).
    timezone: str = "UTC"

    # Storage
    database_url: str = "sqlite+aiosqlite:///./bozor.sqlite3"
    database_echo: bool = False
    database_pool_size: int = Field(default=20, ge=1, le=500)  # PostgreSQL connections
    # Updates handled at once outside the priority lane (0: two per pooled connection), and
    # how many long polling reads ahead of them so that a payment behind a burst is seen.
    update_concurrency: int = Field(default=0, ge=0, le=1000)
    update_backlog: int = Field(default=5000, ge=100, le=100_000)
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
    # Messages per second to Telegram from every sender together (replies, outbox, broadcasts),
    # shared by all instances through Redis when REDIS_URL is set. Telegram allows about 30.
    telegram_rate: float = Field(default=30.0, gt=0, le=1000)
    # Longest wait between tries to reach Telegram when it does not answer (the bot side
    # starts once it does; HTTP is served meanwhile): back-off from 1 s, doubled, with jitter.
    telegram_retry_max: float = Field(default=30.0, gt=0, le=3600)
    # Seconds a Telegram call that fails (429, 5xx, a gateway's HTML page, a timeout, a lost
    # connection) is retried after its first failure; then a handler's reply goes to the outbox.
    telegram_retry_for: float = Field(default=30.0, ge=0, le=600)
    # Messages a handler's replies may send to an idle private chat at once, then 1 per
    # OUTBOX_CHAT_INTERVAL: Telegram tolerates short bursts (the outbox keeps strict spacing).
    telegram_chat_burst: int = Field(default=3, ge=1, le=10)
    broadcast_interval: float = Field(default=1.0, gt=0)  # seconds between looks for work
    broadcast_status_interval: float = Field(default=3.0, gt=0)  # between status edits
    # A message in flight when a sender dies: never resent (may be missing) or resent (may
    # arrive twice). See docs/broadcasts.md.
    broadcast_guarantee: Literal["at_most_once", "at_least_once"] = "at_most_once"
    auto_migrate: bool = True

    # Lotteries
    # The channel where results are announced: its -100... id or a public @username (resolved to
    # the id through getChat when Bozor starts; the bot must be its admin).
    lottery_channel: str | None = None
    lottery_claim_hours: float = Field(default=24.0, gt=0, le=24 * 365)  # to confirm a win
    lottery_job_interval: float = Field(default=30.0, gt=0)  # seconds between job runs
    # After a draw, registered participants who did not win are told the results too.
    lottery_notify_participants: bool = True
    # Winners in results published to the channel and to participants: masked (`@ja***e`),
    # full (@username or name) or none (account numbers only). Winners get their own message.
    lottery_publish_names: Literal["masked", "full", "none"] = "masked"

    # Web dashboard (/dashboard): admins sign in with an admin-scope API key, or this password
    # (plain, or "sha256:<hex digest>" so the file need not hold it); unset = API keys only.
    dashboard_password: SecretStr | None = None
    # Sessions are kept on the server (in the database, or Redis when REDIS_URL is set): one
    # ends at sign-out, after DASHBOARD_SESSION_HOURS in all, or after this long unused.
    dashboard_session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    dashboard_idle_minutes: float = Field(default=60.0, gt=0, le=24 * 60 * 30)
    # Sign in with Telegram (admins in ADMIN_IDS): the public @username of the bot whose token
    # checks the Login Widget's answer; set the dashboard's domain with @BotFather's /setdomain.
    dashboard_telegram_login: str | None = Field(
        default=None, pattern=r"^@?[A-Za-z][A-Za-z0-9_]{3,31}$"
    )
    # Instead of Telegram's widget, send admins to this login page (the emulator's /oauth page;
    # the demo sets it). Answers are checked the same way, with the bot token.
    dashboard_telegram_login_url: str | None = None
    dashboard_telegram_login_max_age: float = Field(default=86400.0, gt=0)  # seconds
    # Guessing is slowed: after this many failed sign-ins of an account or from an IP, it is
    # locked for DASHBOARD_SIGNIN_LOCK_SECONDS, doubling with each further failure up to
    # DASHBOARD_SIGNIN_MAX_LOCK_SECONDS; failures are forgotten after a day without any.
    dashboard_signin_free_failures: int = Field(default=5, ge=1, le=1000)
    dashboard_signin_lock_seconds: float = Field(default=60.0, gt=0)
    dashboard_signin_max_lock_seconds: float = Field(default=3600.0, gt=0)

    # Shop
    shop_order_minutes: float = Field(default=15.0, gt=0, le=24 * 60)  # unpaid order holds codes
    shop_max_quantity: int = Field(default=10, ge=1, le=100)  # codes in one order
    shop_low_stock: int = Field(default=5, ge=0)  # admins are told when stock falls to this
    shop_job_interval: float = Field(default=30.0, gt=0)  # seconds between expiry/refund runs
    shop_terms_url: str | None = None  # /terms links here as well, when set

    # Classifieds
    classifieds_channel: str | None = None  # -100... id of the ads channel (the bot its admin)
    classifieds_repost_minutes: float = Field(default=30.0, gt=0, le=7 * 24 * 60)
    classifieds_repost_no_repeat: int = Field(default=3, ge=0, le=100)  # last N never reposted
    classifieds_sold_check_days: float = Field(default=3.0, gt=0, le=365)
    classifieds_max_unanswered: int = Field(default=3, ge=1, le=100)  # then the ad expires
    classifieds_job_interval: float = Field(default=20.0, gt=0)  # seconds between job runs
    classifieds_categories: str = (
        "electronics:1:1000000000,vehicles:1:5000000000,realty:1:50000000000,"
        "clothes:1:50000000,home:1:200000000,jobs:0:100000000,services:0:100000000,other:0:0"
    )  # slug[:usual min:usual max][:names] in so'm, 0:0 = no range (README, Configuration)
    classifieds_banned_words: Annotated[list[str], NoDecode] = Field(default_factory=list)
    classifieds_daily_limit: int = Field(default=5, ge=1)  # more ads a day are flagged
    classifieds_saved_searches: int = Field(default=10, ge=1, le=100)  # per user
    classifieds_contact_hourly: int = Field(default=20, ge=1)  # relayed messages a person sends
    # Media: photos in a local folder, or S3-compatible storage when S3_BUCKET is set
    media_dir: str = "./media"
    s3_bucket: str | None = None
    s3_region: str | None = None
    s3_endpoint_url: str | None = None  # MinIO or another S3-compatible server
    aws_access_key_id: SecretStr | None = None
    aws_secret_access_key: SecretStr | None = None

    # Logging: to stderr, and to LOG_FILE (rotated at LOG_MAX_BYTES, LOG_BACKUPS kept) when set
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_file: Path | None = None
    log_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    log_backups: int = Field(default=5, ge=0, le=1000)
    log_format: Literal["text", "json"] = "text"  # json: one object per line, with the ids

    # Portmone (card payments): all four of id, login, password and key, or none of them.
    portmone_payee_id: str | None = None
    portmone_login: str | None = None
    portmone_password: SecretStr | None = None
    portmone_key: SecretStr | None = None  # signs payment links (HMAC-SHA256)
    portmone_url: str = PORTMONE_URL

    # Telegram Mini App (/app/): MINIAPP_URL is its public HTTPS address (e.g.
    # https://bozor.example.com/app/); when set, the bot sets its menu button to open it and
    # shop and referral messages get an "Open app" button. initData older than this is refused.
    miniapp_url: str | None = None
    miniapp_init_data_max_age: float = Field(default=86400.0, gt=0, le=7 * 86400)  # seconds

    # Message broker: domain events also published to RabbitMQ (a topic exchange, the routing
    # key is the event type) by the worker role, when AMQP_URL is set.
    amqp_url: SecretStr | None = None  # amqp://user:password@host:5672/vhost
    amqp_exchange: str = Field(default="bozor.events", pattern=r"^[A-Za-z0-9_.:-]{1,127}$")

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

    @field_validator("admin_ids", "trusted_proxies", "classifieds_banned_words", mode="before")
    @classmethod
    def _parse_lists(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        localtime.load(value)  # ValueError names the zone and the expected shape
        return value.strip()

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

    @field_validator("miniapp_url")
    @classmethod
    def _miniapp_https(cls, value: str | None) -> str | None:
        if not value:
            return None
        loopback = re.match(r"^http://(127\.0\.0\.1|localhost)(:\d+)?/", value)
        if not (value.startswith("https://") or loopback):
            raise ValueError("Telegram opens Mini Apps only from https:// addresses")
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
        if value and not re.fullmatch(CHANNEL_PATTERN, value):
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

    @field_validator("portmone_payee_id", "portmone_login", "portmone_password", "portmone_key")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if text is None or not str(text).strip():
            return None
        if isinstance(value, SecretStr):
            return value
        return str(value).strip()

    @field_validator("portmone_url")
    @classmethod
    def _portmone_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must be an http(s) URL")
        return value

    @model_validator(mode="after")
    def _portmone_complete(self) -> Settings:
        names = {
            "PORTMONE_PAYEE_ID": self.portmone_payee_id,
            "PORTMONE_LOGIN": self.portmone_login,
            "PORTMONE_PASSWORD": self.portmone_password,
            "PORTMONE_KEY": self.portmone_key,
        }
        missing = [name for name, value in names.items() if value is None]
        if missing and len(missing) < len(names):
            raise ValueError(
                f"{', '.join(missing)}: required with the other PORTMONE_ settings "
                "(set all four of PORTMONE_PAYEE_ID, LOGIN, PASSWORD and KEY, or none)"
            )
        return self

    def portmone(self) -> PortmoneConfig | None:
        """Portmone's credentials, or None when card payments through it are not configured."""
        from bozor.payments.portmone import PortmoneConfig

        if (
            self.portmone_payee_id is None
            or self.portmone_login is None
            or self.portmone_password is None
            or self.portmone_key is None
        ):
            return None
        return PortmoneConfig(
            payee_id=self.portmone_payee_id,
            login=self.portmone_login,
            password=self.portmone_password.get_secret_value(),
            key=self.portmone_key.get_secret_value(),
            url=self.portmone_url,
        )

    @field_validator(
        "telegram_api_url",
        "webhook_url",
        "public_url",
        "referral_landing_url",
        "shop_terms_url",
        "dashboard_telegram_login_url",
    )
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

    @field_validator("amqp_url")
    @classmethod
    def _amqp_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not value.get_secret_value().startswith(("amqp://", "amqps://")):
            raise ValueError("must be an amqp:// or amqps:// URL")
        return value

    @field_validator("classifieds_categories")
    @classmethod
    def _categories_shape(cls, value: str) -> str:
        # The shape only; the classifieds feature reads the names when it is enabled.
        part = r"\s*[a-z][a-z0-9_]{0,30}(:\d{1,15}:\d{1,15})?(:[^,]*)?\s*"
        if not re.fullmatch(rf"{part}(,{part})*", value):
            raise ValueError(
                "slug[:min:max][:names], comma-separated "
                "(e.g. electronics:1:1000000,home_garden:0:0:Home and garden|ru=Дом и сад)"
            )
        return value

    @field_validator("lottery_channel", "classifieds_channel")
    @classmethod
    def _lottery_channel_id(cls, value: str | None) -> str | None:
        if value and not re.fullmatch(CHANNEL_PATTERN, value.strip()):
            raise ValueError("the channel's -100... id or its public @username (the bot is admin)")
        return value.strip() if value else None

    @property
    def lottery_channel_id(self) -> int | None:
        """The results channel's id; an @username must have been resolved at start-up."""
        return self.channel_id("lottery_channel")

    @property
    def classifieds_channel_id(self) -> int | None:
        """The ads channel's id; an @username must have been resolved at start-up."""
        return self.channel_id("classifieds_channel")

    def channel_id(self, name: str) -> int | None:
        """The id of the channel a setting names (`name`: e.g. "lottery_channel"): its -100...
        value, or the id Telegram gave for its @username at start-up (`resolve_channel`)."""
        value = getattr(self, name)
        if not value:
            return None
        if name in self._channel_ids:
            return self._channel_ids[name]
        if value.startswith("@"):
            raise SettingsError(f"{name.upper()}: the @username was not resolved at start-up")
        return int(value)

    def resolve_channel(self, name: str, chat_id: int) -> None:
        """Remember the id of the channel setting `name` names by @username. The configured
        value is kept as the operator wrote it; every part of the process holding these
        settings reads the id through `channel_id`."""
        self._channel_ids[name] = chat_id

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
