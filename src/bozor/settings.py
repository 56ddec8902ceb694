"""One Settings object, read from the environment, `.env` and an optional JSON or TOML file.

Precedence (highest first): process environment, `.env`, the file named by `BOZOR_CONFIG`,
defaults. Names are the upper-case field names (`BOT_TOKEN`, `DATABASE_URL`, ...).

`Settings` holds the core's settings. A feature's own settings are a `FeatureSettings` model in
its package (e.g. `ShopSettings`, variables `SHOP_...`), named by its manifest
(`Feature.settings`) and read from the same places: `ShopSettings.of(settings)` gives them,
typed, read and checked once (at start-up for the enabled features, see
`bozor.featurekit.read_settings`; a disabled feature's are never read unless asked for).
"""

from __future__ import annotations

import base64
import json
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self, TypeVar

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
        # The file's keys are the variables' names (a feature's with its prefix).
        cls = self.settings_cls
        names = (
            {variable.lower(): name for name, variable in cls.variables().items()}
            if issubclass(cls, FeatureSettings)
            else {name: name for name in cls.model_fields}
        )
        return {names[k]: v for k, v in self._data.items() if k in names}


def split_csv(value: Any) -> Any:
    """A comma-separated variable as a list (a `mode="before"` validator of list settings)."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def http_url(value: str | None) -> str | None:
    """An http(s) URL setting, without its trailing slash (a field validator)."""
    if value is not None and not re.match(r"^https?://[^\s/]+", value):
        raise ValueError("must be an http(s) URL")
    return value.rstrip("/") if value else value


def channel(value: str | None) -> str | None:
    """A setting naming a channel: its -100... id or its public @username (a field validator)."""
    if value and not re.fullmatch(CHANNEL_PATTERN, value.strip()):
        raise ValueError("the channel's -100... id or its public @username (the bot is admin)")
    return value.strip() if value else None


def _error_lines(exc: ValidationError, variable: Callable[[str], str]) -> str:
    """One line per wrong setting, naming its variable (`variable`: a field's name → it)."""
    lines = []
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        if loc and not loc[0].isupper():
            loc[0] = variable(loc[0])
        name = ".".join(loc).upper()
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"{name}: {message}" if name else message)
    return "\n".join(lines)


class _FromConfigFileToo(BaseSettings):
    """Arguments, then the environment, `.env` and the BOZOR_CONFIG file (ConfigFileSource)."""

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


class FeatureSettings(_FromConfigFileToo):
    """A feature's own settings, declared in its package and named by its manifest
    (`Feature.settings`). Fields are named without the feature's prefix and read from the
    variables named with it (`env_prefix` in `model_config`, e.g. "SHOP_" reads
    SHOP_ORDER_MINUTES into `order_minutes`); a field whose variable does not carry the prefix
    names it with `validation_alias` (the referrals' REWARD_TIERS). Reach them typed with
    `ShopSettings.of(settings)`."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        populate_by_name=True,
    )
    # Fields naming a channel (Feature.channels): the ids Telegram gave for @usernames.
    _channel_ids: dict[str, int] = PrivateAttr(default_factory=dict)

    @classmethod
    def of(cls, settings: Settings) -> Self:
        """This feature's settings in `settings` (read and checked on first use)."""
        return settings.feature(cls)

    @classmethod
    def variable(cls, name: str) -> str:
        """The variable of field `name`, e.g. "SHOP_ORDER_MINUTES" for `order_minutes`."""
        alias = cls.model_fields[name].validation_alias
        if isinstance(alias, str):
            return alias.upper()
        return f"{cls.model_config.get('env_prefix', '')}{name}".upper()

    @classmethod
    def variables(cls) -> dict[str, str]:
        """Field name → its variable, for every field."""
        return {name: cls.variable(name) for name in cls.model_fields}

    @classmethod
    def load(cls, given: Mapping[str, Any], **options: Any) -> Self:
        """Read them (the environment, `.env`, BOZOR_CONFIG) with `given` values first, keyed
        by the variables' names in any case (`shop_order_minutes=5`); SettingsError names
        each wrong variable on a line of its own. `options`: pydantic-settings' `_env_file`
        and the like."""
        fields = {variable.lower(): name for name, variable in cls.variables().items()}
        values = {fields[key.lower()]: v for key, v in given.items() if key.lower() in fields}
        try:
            return cls(**options, **values)
        except ValidationError as exc:
            raise SettingsError(_error_lines(exc, cls.variable)) from None

    def chat_id(self, name: str) -> int | None:
        """The id of the channel field `name` names: its -100... value, or the id Telegram
        gave for its @username at start-up (`resolve_channel`)."""
        value = getattr(self, name)
        if not value:
            return None
        if name in self._channel_ids:
            return self._channel_ids[name]
        if value.startswith("@"):
            raise SettingsError(
                f"{self.variable(name)}: the @username was not resolved at start-up"
            )
        return int(value)

    def resolve_channel(self, name: str, chat_id: int) -> None:
        """Remember the id of the channel field `name` names by @username. The configured value
        is kept as the operator wrote it; every part of the process holding these settings
        reads the id through `chat_id`."""
        self._channel_ids[name] = chat_id


F = TypeVar("F", bound=FeatureSettings)


class Settings(_FromConfigFileToo):
    """Every setting Bozor reads. See the configuration reference in the README."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )
    # Values given to the constructor that are not the core's: the features' settings, by
    # their variables' names (`shop_order_minutes=5`), and pydantic-settings' options
    # (`_env_file`), handed to each FeatureSettings when it is read.
    _given: dict[str, Any] = PrivateAttr(default_factory=dict)
    _options: dict[str, Any] = PrivateAttr(default_factory=dict)
    # The features' settings read so far, by their model (see feature()).
    _features: dict[type[FeatureSettings], FeatureSettings] = PrivateAttr(default_factory=dict)

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

    def __init__(self, **values: Any) -> None:
        own = {k: v for k, v in values.items() if k in type(self).model_fields}
        options = {k: v for k, v in values.items() if k.startswith("_")}
        super().__init__(**own, **options)
        self._given = {k: v for k, v in values.items() if k not in own and k not in options}
        self._options = options

    def feature(self, kind: type[F]) -> F:
        """A feature's settings (`kind.of(self)` says the same): read from the environment,
        `.env`, BOZOR_CONFIG and the values given to this object, and checked, once; copies of
        this object (model_copy) share them."""
        found = self._features.get(kind)
        if found is None:
            found = self._features[kind] = kind.load(self._given, **self._options)
        assert isinstance(found, kind)
        return found

    @field_validator("admin_ids", "trusted_proxies", mode="before")
    @classmethod
    def _parse_lists(cls, value: Any) -> Any:
        return split_csv(value)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        localtime.load(value)  # ValueError names the zone and the expected shape
        return value.strip()

    @field_validator("features", mode="before")
    @classmethod
    def _parse_features(cls, value: Any) -> Any:
        value = split_csv(value)
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
        "dashboard_telegram_login_url",
    )
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return http_url(value)

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
        raise SettingsError(_error_lines(exc, str.upper)) from None
