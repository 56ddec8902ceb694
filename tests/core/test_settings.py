"""Settings come from the environment, `.env`, or a JSON/TOML file; mistakes stop start-up
with one line naming the setting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bozor.settings import FEATURES, SettingsError, load_settings

TOKEN = "123456:ABCdefGhIJKlmnoPQRstuVWxyz012345"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith(("BOT_", "DATABASE_", "REDIS_", "ADMIN_", "FEATURES", "BOZOR_")):
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
