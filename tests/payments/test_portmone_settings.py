"""PORTMONE_* settings: all four credentials or none; secrets never shown."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bozor.payments.portmone import DEFAULT_URL, PortmoneConfig
from bozor.settings import SettingsError, load_settings

CREDENTIALS = {
    "PORTMONE_PAYEE_ID": "3048",
    "PORTMONE_LOGIN": "SHOP",
    "PORTMONE_PASSWORD": "pa55-word",
    "PORTMONE_KEY": "signing-key-value",
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith(("PORTMONE_", "BOZOR_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_not_configured_by_default() -> None:
    settings = load_settings()
    assert settings.portmone() is None
    assert settings.portmone_url == DEFAULT_URL


def test_configured_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PORTMONE_URL", "http://127.0.0.1:9999/gateway/")
    settings = load_settings()
    assert settings.portmone() == PortmoneConfig(
        payee_id="3048",
        login="SHOP",
        password="pa55-word",
        key="signing-key-value",
        url="http://127.0.0.1:9999/gateway/",
    )
    for shown in (repr(settings), str(settings), repr(settings.portmone())):
        assert "pa55-word" not in shown and "signing-key-value" not in shown


@pytest.mark.parametrize("left_out", sorted(CREDENTIALS))
def test_partly_configured_stops_start_up(monkeypatch: pytest.MonkeyPatch, left_out: str) -> None:
    for name, value in CREDENTIALS.items():
        if name != left_out:
            monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert left_out in message
    assert "pa55-word" not in message and "signing-key-value" not in message


def test_blank_values_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CREDENTIALS:
        monkeypatch.setenv(name, "  ")
    assert load_settings().portmone() is None
    monkeypatch.setenv("PORTMONE_LOGIN", "SHOP")
    with pytest.raises(SettingsError, match="PORTMONE_PAYEE_ID"):
        load_settings()


def test_the_url_must_be_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTMONE_URL", "ftp://portmone")
    with pytest.raises(SettingsError, match="PORTMONE_URL"):
        load_settings()
