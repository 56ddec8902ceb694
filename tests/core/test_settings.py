"""Settings come from the environment, `.env`, or a JSON/TOML file; mistakes stop start-up
with one line naming the setting."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bozor.classifieds.settings import ClassifiedsSettings
from bozor.featurekit import read_settings
from bozor.features import FEATURES as ALL_FEATURES
from bozor.features import enabled
from bozor.lotteries.settings import LotterySettings
from bozor.referrals.settings import ReferralSettings
from bozor.settings import FEATURES, FeatureSettings, Settings, SettingsError, load_settings
from bozor.shop.settings import ShopSettings

TOKEN = "123456:ABCdefGhIJKlmnoPQRstuVWxyz012345"
# The features' variables (none set by the machine running the tests may leak in).
VARIABLES = {v for f in ALL_FEATURES if f.settings for v in f.settings.variables().values()}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith(("BOT_", "DATABASE_", "REDIS_", "ADMIN_", "FEATURES", "BOZOR_")) or (
            name in VARIABLES
        ):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults_are_embedded() -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite+aiosqlite:///./bozor.sqlite3"
    assert settings.redis_url is None
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert settings.features == list(FEATURES)
    assert settings.admin_ids == []


def test_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    monkeypatch.setenv("ADMIN_IDS", "1, 5000000000")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db/bozor")
    monkeypatch.setenv("FEATURES", "referrals")
    settings = load_settings()
    assert settings.bot_token is not None and settings.bot_token.get_secret_value() == TOKEN
    assert settings.admin_ids == [1, 5_000_000_000]
    assert settings.database_url == "postgresql+asyncpg://u@db/bozor"
    assert settings.is_admin(5_000_000_000) and not settings.is_admin(2)
    assert TOKEN not in repr(settings), "secrets never show in logs"


def test_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"BOT_TOKEN={TOKEN}\nADMIN_IDS=42\n")
    settings = load_settings()
    assert settings.admin_ids == [42]


@pytest.mark.parametrize("kind", ["json", "toml"])
def test_config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"config.{kind}"
    if kind == "json":
        path.write_text(json.dumps({"BOT_TOKEN": TOKEN, "admin_ids": [7, 8], "throttle_burst": 3}))
    else:
        path.write_text(f'bot_token = "{TOKEN}"\nadmin_ids = "7,8"\nthrottle_burst = 3\n')
    monkeypatch.setenv("BOZOR_CONFIG", str(path))
    monkeypatch.setenv("THROTTLE_BURST", "5")  # the environment wins over the file
    settings = load_settings()
    assert settings.admin_ids == [7, 8]
    assert settings.throttle_burst == 5


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DATABASE_URL", "mysql://x", "DATABASE_URL: must be a sqlite:// or postgresql:// URL"),
        ("ADMIN_IDS", "12,abc", "ADMIN_IDS.1: Input should be a valid integer"),
        ("FEATURES", "referrals,casino", "FEATURES: unknown casino; choose from classifieds"),
        ("API_SECRET", "short", "API_SECRET: at least 32 characters"),
        ("BOT_TOKEN", "nope", "BOT_TOKEN: does not look like a bot token"),
        ("REDIS_URL", "localhost:6379", "REDIS_URL: must be a redis:// URL"),
        ("TELEGRAM_API_URL", "api.telegram.org", "TELEGRAM_API_URL: must be an http(s) URL"),
    ],
)
def test_wrong_value_is_named(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_unreadable_config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BOZOR_CONFIG", str(tmp_path / "missing.json"))
    with pytest.raises(SettingsError, match=r"^BOZOR_CONFIG: cannot read"):
        load_settings()


def run_bozor(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`bozor run` as an operator starts it, in a folder with no .env."""
    return subprocess.run(
        [sys.executable, "-m", "bozor", "run"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_run_without_token_stops_with_one_line(tmp_path: Path) -> None:
    result = run_bozor(tmp_path, {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: BOT_TOKEN: required to run the bot (try `bozor demo` for a bot without one)"
    ]


def test_bad_database_url_stops_run(tmp_path: Path) -> None:
    result = run_bozor(tmp_path, {**os.environ, "BOT_TOKEN": TOKEN, "DATABASE_URL": "oracle://x"})
    assert result.returncode == 2
    assert result.stderr.strip() == "error: DATABASE_URL: must be a sqlite:// or postgresql:// URL"


# --- the features' own settings (Feature.settings) --------------------------------------------


def _feature_settings() -> dict[str, type[FeatureSettings]]:
    return {f.name: f.settings for f in ALL_FEATURES if f.settings is not None}


def test_every_feature_declares_its_settings() -> None:
    assert _feature_settings() == {
        "referrals": ReferralSettings,
        "lotteries": LotterySettings,
        "shop": ShopSettings,
        "classifieds": ClassifiedsSettings,
    }


def test_feature_variables_keep_their_names(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Operators' deployments keep working: the same variables, in the environment, `.env` and
    the BOZOR_CONFIG file, mean what they meant."""
    monkeypatch.setenv("SHOP_ORDER_MINUTES", "20")
    monkeypatch.setenv("REWARD_TIERS", "VIP:50:1000")
    monkeypatch.setenv("VELOCITY_BURST", "7")
    monkeypatch.setenv("CLASSIFIEDS_BANNED_WORDS", "weapon, drugs")
    (tmp_path / ".env").write_text("LOTTERY_CHANNEL=@club_draws\nREFERRAL_VALIDATOR=a.b:c\n")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"SHOP_MAX_QUANTITY": 4, "attribution_days": 7}))
    monkeypatch.setenv("BOZOR_CONFIG", str(config))
    settings = load_settings()
    shop = ShopSettings.of(settings)
    assert (shop.order_minutes, shop.max_quantity) == (20, 4)
    referrals = ReferralSettings.of(settings)
    assert referrals.reward_tiers == "VIP:50:1000"
    assert (referrals.velocity_burst, referrals.attribution_days) == (7, 7)
    assert referrals.validator == "a.b:c"
    assert ClassifiedsSettings.of(settings).banned_words == ["weapon", "drugs"]
    assert LotterySettings.of(settings).channel == "@club_draws"
    assert ShopSettings.variables()["order_minutes"] == "SHOP_ORDER_MINUTES"


def test_given_values_win_and_copies_share_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests and the demo give a feature's settings by their variables' names, as the core's."""
    monkeypatch.setenv("VELOCITY_BURST", "9")
    settings = load_settings(
        shop_order_minutes=0.5, velocity_burst=0, lottery_channel="-1001234567"
    )
    assert ShopSettings.of(settings).order_minutes == 0.5
    assert ReferralSettings.of(settings).velocity_burst == 0
    assert LotterySettings.of(settings).channel_id == -1001234567
    copy = settings.model_copy(update={"features": ["shop"]})
    assert ShopSettings.of(copy) is ShopSettings.of(settings)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SHOP_ORDER_MINUTES", "0", "SHOP_ORDER_MINUTES: Input should be greater than 0"),
        ("SHOP_TERMS_URL", "example.com", "SHOP_TERMS_URL: must be an http(s) URL"),
        ("REWARD_TIERS", "Gold", "REWARD_TIERS: name:referrals:points, comma-separated"),
        ("VELOCITY_BURST", "-1", "VELOCITY_BURST: Input should be greater than or equal to 0"),
        ("REFERRAL_VALIDATOR", "no path", "REFERRAL_VALIDATOR: a dotted path like"),
        ("REFERRAL_REQUIRED_CHANNEL", "news", "REFERRAL_REQUIRED_CHANNEL: a public channel's"),
        ("LOTTERY_CHANNEL", "draws", "LOTTERY_CHANNEL: the channel's -100... id"),
        ("LOTTERY_PUBLISH_NAMES", "all", "LOTTERY_PUBLISH_NAMES: Input should be 'masked'"),
        ("CLASSIFIEDS_CATEGORIES", "Cars", "CLASSIFIEDS_CATEGORIES: slug[:min:max][:names]"),
        ("CLASSIFIEDS_DAILY_LIMIT", "x", "CLASSIFIEDS_DAILY_LIMIT: Input should be a valid int"),
    ],
)
def test_wrong_feature_value_is_named(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    settings = load_settings()
    with pytest.raises(SettingsError) as caught:
        read_settings(settings, enabled(settings))
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_every_wrong_feature_value_is_named_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_MAX_QUANTITY", "0")
    monkeypatch.setenv("LOTTERY_CLAIM_HOURS", "-1")
    settings = load_settings()
    with pytest.raises(SettingsError) as caught:
        read_settings(settings, enabled(settings))
    assert [line.split(":")[0] for line in str(caught.value).splitlines()] == [
        "LOTTERY_CLAIM_HOURS",
        "SHOP_MAX_QUANTITY",
    ]


def test_a_disabled_feature_cannot_stop_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEATURES", "referrals,lotteries")
    monkeypatch.setenv("SHOP_ORDER_MINUTES", "never")
    monkeypatch.setenv("CLASSIFIEDS_CHANNEL", "ads")
    settings = load_settings()
    read_settings(settings, enabled(settings))  # the shop's and the classifieds' are not read
    with pytest.raises(SettingsError, match=r"^SHOP_ORDER_MINUTES: "):
        ShopSettings.of(settings)  # asked for, they are checked all the same


def test_core_settings_name_no_feature_variable() -> None:
    """A variable is either the core's or one feature's."""
    seen: dict[str, str] = {name.upper(): "core" for name in Settings.model_fields}
    for feature, model in _feature_settings().items():
        for variable in model.variables().values():
            assert variable not in seen, f"{variable}: {feature}'s and {seen[variable]}'s"
            seen[variable] = feature


def test_readme_lists_every_variable() -> None:
    """The configuration reference in the README names every variable, the features' too."""
    readme = (Path(__file__).parents[2] / "README.md").read_text("utf-8")
    rows = re.findall(r"^\| (`[A-Z0-9_]+`(?: / `[A-Z0-9_]+`)*)", readme, flags=re.MULTILINE)
    listed = {name for row in rows for name in re.findall(r"`([A-Z0-9_]+)`", row)}
    variables = {name.upper() for name in Settings.model_fields}
    for model in _feature_settings().values():
        variables |= set(model.variables().values())
    assert sorted(variables - listed) == []


def test_run_stops_on_a_wrong_feature_value(tmp_path: Path) -> None:
    env = {**os.environ, "BOT_TOKEN": TOKEN, "SHOP_ORDER_MINUTES": "soon", "REWARD_TIERS": "x"}
    result = run_bozor(tmp_path, env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: REWARD_TIERS: name:referrals:points, comma-separated "
        "(e.g. Bronze:5:50,Gold:20:500)",
        "error: SHOP_ORDER_MINUTES: Input should be a valid number, unable to parse string as a "
        "number",
    ]
