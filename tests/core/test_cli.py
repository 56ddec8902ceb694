"""The `bozor` command as a person at a terminal meets it (typer's runner, the real app)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bozor.cli import create_cli
from bozor.features import FEATURES

pytestmark = pytest.mark.usefixtures("_no_env_file")


@pytest.fixture
def _no_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from an empty folder: no .env of the developer's is read."""
    monkeypatch.chdir(tmp_path)


def invoke(*args: str, database: Path | None = None) -> tuple[int, str]:
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{database}"} if database else {}
    result = CliRunner().invoke(create_cli(FEATURES), list(args), env=env)
    return result.exit_code, result.output


def test_help_shows_no_type_beside_flags() -> None:
    code, output = invoke("--help")
    assert code == 0
    assert "--help" in output
    assert "<bool>" not in output


def test_apikey_list_on_an_empty_database_says_so(tmp_path: Path) -> None:
    code, output = invoke("apikey", "list", database=tmp_path / "bozor.sqlite3")
    assert code == 0
    assert "no API keys yet" in output
    assert "bozor apikey create" in output


def test_db_current_does_not_create_a_database(tmp_path: Path) -> None:
    database = tmp_path / "missing.sqlite3"
    code, output = invoke("db", "current", database=database)
    assert code == 1
    assert "no database at" in output
    assert not database.exists()


def test_lottery_verify_of_an_unknown_lottery_names_no_bot_command(tmp_path: Path) -> None:
    code, output = invoke("lottery", "verify", "1", database=tmp_path / "bozor.sqlite3")
    assert code == 2
    assert "no lottery #1" in output
    assert "/lotteries" not in output
