"""Settings: defaults, then adhere.toml, then ADHERE_* variables, then options."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from adhere.config import DEFAULT_DATABASE_URL, load_settings


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert (settings.port, settings.token_lifetime_seconds, settings.lateness_limit_days) == (
        8000,
        600,
        7,
    )
    assert settings.token_issuer == "http://127.0.0.1:8000"


def test_file_then_environment_then_options(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "adhere.toml").write_text(
        'port = 9000\nlateness_limit_days = 3\nhost = "0.0.0.0"\n'
    )
    assert load_settings().port == 9000
    monkeypatch.setenv("ADHERE_PORT", "9100")
    settings = load_settings()
    assert (settings.port, settings.lateness_limit_days, settings.host) == (9100, 3, "0.0.0.0")
    assert load_settings(port=9200).port == 9200


def test_an_explicit_config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "elsewhere.toml"
    config.write_text('database_url = "postgresql+psycopg://db/adhere"\n')
    assert load_settings(config).database_url == "postgresql+psycopg://db/adhere"


def test_unknown_or_invalid_settings_are_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "adhere.toml").write_text("prot = 9000\n")
    with pytest.raises(ValidationError, match="prot"):
        load_settings()
    (tmp_path / "adhere.toml").write_text("port = 70000\n")
    with pytest.raises(ValidationError, match="port"):
        load_settings()
