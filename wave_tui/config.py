"""Configuration from flags, environment and `.env`: database, thresholds, budgets, model."""

from __future__ import annotations

import getpass
import os
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Self

from platformdirs import user_data_dir
from pydantic import AliasChoices, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from wave_tui.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

APP_NAME = "wave_tui"
DATABASE_FILE = "wave.db"
POLICY_FILE = "wave-policy.toml"

# The async driver each database family runs on; other URLs are refused before anything connects.
_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


def _env(name: str, *more: str) -> Any:
    """Accept `WAVE_<NAME>` first, then the bare `<NAME>` the original WAVE layer used."""
    return AliasChoices(f"WAVE_{name}", name, *more)


class Settings(BaseSettings):
    """Everything configurable. Build it with `load_settings()` to get one-line errors."""

    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", populate_by_name=True, validate_default=True
    )

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("WAVE_DATABASE_URL", "DATABASE_URL")
    )
    postgres_host: str | None = Field(default=None, validation_alias=_env("POSTGRES_HOST"))
    postgres_port: int = Field(default=5432, ge=1, le=65535, validation_alias=_env("POSTGRES_PORT"))
    postgres_db: str = Field(default="wave", validation_alias=_env("POSTGRES_DB"))
    postgres_user: str = Field(default="wave", validation_alias=_env("POSTGRES_USER"))
    postgres_password: SecretStr | None = Field(
        default=None, validation_alias=_env("POSTGRES_PASSWORD")
    )
    data_dir: Path = Field(
        default_factory=lambda: Path(user_data_dir(APP_NAME, appauthor=False)),
        validation_alias=AliasChoices("WAVE_DATA_DIR"),
    )

    constitutional_block_threshold: float = Field(
        default=0.7, ge=0.0, le=1.0, validation_alias=_env("CONSTITUTIONAL_BLOCK_THRESHOLD")
    )
    constitutional_escalate_threshold: float = Field(
        default=0.85, ge=0.0, le=1.0, validation_alias=_env("CONSTITUTIONAL_ESCALATE_THRESHOLD")
    )

    # The project's safety policy; unset means `wave-policy.toml` in the project, if it exists.
    policy_file: Path | None = Field(default=None, validation_alias=_env("POLICY_FILE"))
    # Ask the LLM judge too (through the run's model provider) after the rule layer.
    safety_judge: bool = Field(default=False, validation_alias=_env("SAFETY_JUDGE"))
    # Who decisions are recorded as; unset means the OS user.
    operator: str | None = Field(default=None, min_length=1, validation_alias=_env("OPERATOR"))

    # The console's keys by binding id, e.g. WAVE_KEYMAP='{"story.hold": "h"}' (see `?`).
    keymap: dict[str, str] = Field(default_factory=dict, validation_alias=_env("KEYMAP"))

    default_token_limit: int = Field(
        default=100_000, gt=0, validation_alias=_env("DEFAULT_TOKEN_LIMIT")
    )
    default_cost_limit_usd: Decimal = Field(
        default=Decimal("10.0"), gt=0, validation_alias=_env("DEFAULT_COST_LIMIT_USD")
    )
    default_story_budget_usd: Decimal = Field(
        default=Decimal("2.0"), gt=0, validation_alias=_env("DEFAULT_STORY_BUDGET_USD")
    )

    anthropic_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("ANTHROPIC_API_KEY", "WAVE_ANTHROPIC_API_KEY")
    )
    anthropic_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("ANTHROPIC_BASE_URL", "WAVE_ANTHROPIC_BASE_URL")
    )
    # "exit" (write only when the run ends) is refused: a crash would lose every step of it.
    checkpoint_durability: Literal["sync", "async"] = Field(
        default="sync", validation_alias=_env("CHECKPOINT_DURABILITY")
    )
    # Retention: graph checkpoints kept per thread besides the recovery points (WaveCheckpoint
    # rows), and whether a completed story is pruned to that at once.
    checkpoint_keep_latest: int = Field(
        default=20, ge=1, validation_alias=_env("CHECKPOINT_KEEP_LATEST")
    )
    checkpoint_prune_on_complete: bool = Field(
        default=True, validation_alias=_env("CHECKPOINT_PRUNE_ON_COMPLETE")
    )
    model: str = Field(
        default="claude-sonnet-4-6",
        min_length=1,
        validation_alias=AliasChoices("WAVE_MODEL", "ANTHROPIC_MODEL"),
    )

    @model_validator(mode="after")
    def _thresholds_in_order(self) -> Self:
        if self.constitutional_block_threshold > self.constitutional_escalate_threshold:
            raise ValueError(
                "CONSTITUTIONAL_BLOCK_THRESHOLD must not be above CONSTITUTIONAL_ESCALATE_THRESHOLD"
            )
        return self

    @property
    def operator_name(self) -> str:
        """The name operator decisions are recorded under: configured, else the OS user."""
        if self.operator:
            return self.operator
        try:
            return getpass.getuser()
        except (KeyError, OSError):
            return "operator"

    def policy_path(self, project: Path | None) -> Path | None:
        """The policy file to load: the configured one (which must exist), else the project's
        `wave-policy.toml` when there is one."""
        if self.policy_file is not None:
            return self.policy_file
        if project is not None and (project / POLICY_FILE).is_file():
            return project / POLICY_FILE
        return None

    @property
    def default_database_path(self) -> Path:
        return self.data_dir / DATABASE_FILE

    def resolve_database_url(
        self, *, db_path: Path | None = None, database_url: str | None = None
    ) -> URL:
        """The async SQLAlchemy URL to use: `--database-url`, then `--db`, then the environment."""
        if database_url is not None:
            return normalize_database_url(database_url)
        if db_path is not None:
            return sqlite_url(db_path)
        if self.database_url:
            return normalize_database_url(self.database_url)
        if self.postgres_host:
            from sqlalchemy.engine import URL

            password = self.postgres_password.get_secret_value() if self.postgres_password else None
            return URL.create(
                "postgresql+asyncpg",
                username=self.postgres_user,
                password=password,
                host=self.postgres_host,
                port=self.postgres_port,
                database=self.postgres_db,
            )
        return sqlite_url(self.default_database_path)


def sqlite_url(path: Path) -> URL:
    from sqlalchemy.engine import URL

    return URL.create("sqlite+aiosqlite", database=str(path.expanduser().resolve()))


def normalize_database_url(raw: str) -> URL:
    """Parse a database URL and pin it to the async driver of its family, or raise ConfigError."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(raw.strip())
    except ArgumentError:
        raise ConfigError(
            f"invalid database URL {raw!r}: expected sqlite:///PATH or "
            "postgresql://USER:PASSWORD@HOST:PORT/DB"
        ) from None
    driver = _ASYNC_DRIVERS.get(url.drivername)
    if driver is None:
        raise ConfigError(
            f"unsupported database URL scheme {url.drivername!r}: use sqlite:///PATH or "
            "postgresql://USER:PASSWORD@HOST:PORT/DB"
        )
    if driver.startswith("sqlite") and url.database in (None, "", ":memory:"):
        raise ConfigError("a SQLite database URL needs a file path: sqlite:///PATH")
    if driver.startswith("postgresql") and not url.database:
        raise ConfigError(f"the PostgreSQL URL {display_url(url)} names no database")
    return url.set(drivername=driver)


def display_url(url: URL) -> str:
    """The database as it may be shown or logged: a SQLite path, or a URL without its password."""
    if url.get_backend_name() == "sqlite":
        return url.database or ""
    return url.set(drivername=url.get_backend_name()).render_as_string(hide_password=True)


_ALIASES: dict[str, list[str]] = {
    name: [alias for alias in info.validation_alias.choices if isinstance(alias, str)]
    for name, info in Settings.model_fields.items()
    if isinstance(info.validation_alias, AliasChoices)
}


def load_settings(**overrides: Any) -> Settings:
    """Read the configuration, turning a validation failure into one ConfigError line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_one_line(exc)) from None


def _one_line(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    names = [_setting_name(str(part)) for part in error["loc"] if part != "__root__"]
    where = ".".join(names)
    message = error["msg"].removeprefix("Value error, ")
    given = error.get("input")
    shown = "" if isinstance(given, dict) or given is None else f" (got {given!r})"
    prefix = f"{where}: " if where else ""
    return f"invalid configuration: {prefix}{message}{shown}"


def _setting_name(field: str) -> str:
    """The name the user wrote: the environment variable that is set, else the usual one."""
    choices = _ALIASES.get(field) or next(
        (names for names in _ALIASES.values() if field in names), [field]
    )
    present = {key.upper() for key in os.environ}
    for name in choices:
        if name.upper() in present:
            return name
    return choices[-1]
