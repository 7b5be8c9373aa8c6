"""Configuration: defaults, both environment spellings, .env, precedence, one-line errors."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from wave_tui.config import display_url, load_settings, normalize_database_url
from wave_tui.errors import ConfigError


def test_defaults_match_the_design(tmp_path: Path) -> None:
    settings = load_settings()
    assert settings.constitutional_block_threshold == 0.7
    assert settings.constitutional_escalate_threshold == 0.85
    assert settings.default_token_limit == 100_000
    assert settings.default_cost_limit_usd == Decimal("10.0")
    assert settings.default_story_budget_usd > 0
    assert settings.anthropic_api_key is None
    url = settings.resolve_database_url()
    assert url.drivername == "sqlite+aiosqlite"
    assert url.database == str(tmp_path / "data" / "wave.db")


def test_bare_and_prefixed_environment_names_both_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSTITUTIONAL_BLOCK_THRESHOLD", "0.6")
    monkeypatch.setenv("WAVE_DEFAULT_TOKEN_LIMIT", "5000")
    monkeypatch.setenv("DEFAULT_COST_LIMIT_USD", "2.5")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-key-123456")
    monkeypatch.setenv("WAVE_MODEL", "claude-test")
    settings = load_settings()
    assert settings.constitutional_block_threshold == 0.6
    assert settings.default_token_limit == 5000
    assert settings.default_cost_limit_usd == Decimal("2.5")
    assert settings.anthropic_api_key is not None
    assert settings.anthropic_api_key.get_secret_value() == "sk-ant-test-key-123456"
    assert "sk-ant-test-key" not in repr(settings)
    assert settings.model == "claude-test"


def test_dot_env_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "CONSTITUTIONAL_ESCALATE_THRESHOLD=0.9\nWAVE_MODEL=from-dotenv\n"
    )
    settings = load_settings()
    assert settings.constitutional_escalate_threshold == 0.9
    assert settings.model == "from-dotenv"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("CONSTITUTIONAL_BLOCK_THRESHOLD", "2", "CONSTITUTIONAL_BLOCK_THRESHOLD: Input should be"),
        ("DEFAULT_TOKEN_LIMIT", "lots", "DEFAULT_TOKEN_LIMIT: Input should be a valid integer"),
        ("WAVE_DEFAULT_COST_LIMIT_USD", "-1", "WAVE_DEFAULT_COST_LIMIT_USD: Input should be"),
        ("POSTGRES_PORT", "99999", "POSTGRES_PORT"),
        ("CONSTITUTIONAL_BLOCK_THRESHOLD", "0.95", "must not be above"),
        # "exit" would lose every step of a run to a crash.
        ("WAVE_CHECKPOINT_DURABILITY", "exit", "WAVE_CHECKPOINT_DURABILITY: Input should be"),
        ("WAVE_CHECKPOINT_KEEP_LATEST", "0", "WAVE_CHECKPOINT_KEEP_LATEST: Input should be"),
    ],
)
def test_invalid_values_are_one_line_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as raised:
        load_settings()
    message = str(raised.value)
    assert expected in message
    assert "\n" not in message
    assert message.startswith("invalid configuration: ")


def test_database_url_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("POSTGRES_HOST", "db.internal")
    monkeypatch.setenv("POSTGRES_PASSWORD", "hunter2")
    settings = load_settings()
    from_parts = settings.resolve_database_url()
    assert from_parts.drivername == "postgresql+asyncpg"
    assert (from_parts.host, from_parts.port, from_parts.database) == ("db.internal", 5432, "wave")
    assert "hunter2" not in display_url(from_parts)

    monkeypatch.setenv("DATABASE_URL", "postgresql://u@from-database-url/wave")
    assert load_settings().resolve_database_url().host == "from-database-url"
    monkeypatch.setenv("WAVE_DATABASE_URL", "postgres://u@from-wave-url/wave")
    settings = load_settings()
    assert settings.resolve_database_url().host == "from-wave-url"
    by_path = settings.resolve_database_url(db_path=tmp_path / "x.db")
    assert by_path.database == str(tmp_path / "x.db")
    by_flag = settings.resolve_database_url(
        db_path=tmp_path / "x.db", database_url="sqlite:///" + str(tmp_path / "y.db")
    )
    assert by_flag.database == str(tmp_path / "y.db")
    assert by_flag.drivername == "sqlite+aiosqlite"


@pytest.mark.parametrize(
    "raw",
    ["mysql://u@h/db", "not a url", "sqlite://", "sqlite:///:memory:", "postgresql://u@h"],
)
def test_bad_database_urls_are_refused(raw: str) -> None:
    with pytest.raises(ConfigError):
        normalize_database_url(raw)


def test_display_url_never_shows_a_password() -> None:
    url = normalize_database_url("postgresql://wave:s3cret@db:5432/wave")
    assert url.drivername == "postgresql+asyncpg"
    assert display_url(url) == "postgresql://wave:***@db:5432/wave"
