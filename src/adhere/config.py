"""Settings for the service: defaults, then ``adhere.toml``, then ``ADHERE_*`` variables.

A command-line option wins over all three (`adhere serve --db …`).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_DATABASE_URL = "sqlite:///./adhere.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ADHERE_", toml_file="adhere.toml", extra="forbid")

    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    issuer: str | None = Field(
        default=None,
        description="The `iss` of access tokens; defaults to http://HOST:PORT.",
    )
    token_lifetime_seconds: int = Field(default=600, ge=30, le=86_400)
    session_lifetime_hours: float = Field(
        default=12,
        gt=0,
        le=30 * 24,
        description="How long a browser session lasts after logging in.",
    )
    # How often an open live stream checks that its token or session still holds: a disabled
    # user, an ended session or an expired token stops receiving rows within this time.
    stream_recheck_seconds: float = Field(default=15, gt=0, le=300)
    lateness_limit_days: float = Field(default=7, gt=0, le=366)
    future_tolerance_seconds: float = Field(default=300, ge=0, le=86_400)
    max_batch_events: int = Field(default=10_000, ge=1, le=100_000)
    clock_interval_seconds: float = Field(default=0.25, gt=0, le=1)
    sync_interval_seconds: float = Field(
        default=1.0,
        gt=0,
        description="How often the server looks for writes made by other processes (the CLI).",
    )
    webhook_allowed_networks: list[str] = Field(
        default_factory=list,
        description="Private networks webhooks may reach (CIDR, e.g. 10.0.0.0/8); none by default",
    )
    webhook_timeout_seconds: float = Field(default=10, gt=0, le=60)
    webhook_concurrency_per_endpoint: int = Field(default=4, ge=1, le=100)
    webhook_disable_after_days: float = Field(default=5, gt=0, le=60)
    shift_start_missed_after_minutes: float = Field(
        default=5,
        ge=0,
        le=24 * 60,
        description="`shift.start.missed` is published when an agent is still Offline this "
        "long after its scheduled working time began.",
    )
    historical_job_threshold_events: int = Field(
        default=300_000,
        ge=0,
        description="A historical query over more events than this runs as a job.",
    )
    secret_key_file: Path = Field(
        default=Path("adhere.key"),
        description="The key sealing data action credentials (Fernet); created, mode 0600, "
        "on first use. Relative to the working directory.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="The sealing key itself (ADHERE_SECRET_KEY); wins over secret_key_file.",
    )

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            ipaddress.ip_network(network, strict=False)  # a ValueError names the bad one
        return value

    @property
    def token_issuer(self) -> str:
        return self.issuer or f"http://{self.host}:{self.port}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


def load_settings(config_file: Path | None = None, **overrides: object) -> Settings:
    """Settings from the environment and `config_file` (default ./adhere.toml, if present)."""
    given = {key: value for key, value in overrides.items() if value is not None}
    if config_file is None:
        return Settings(**given)  # type: ignore[arg-type]

    class _FromFile(Settings):
        model_config = SettingsConfigDict(toml_file=config_file)

    return _FromFile(**given)  # type: ignore[arg-type]
