"""Settings: every VPDN_* variable in the README's table, a bad value refused in one line
naming it (exit 2), and the worker's tunables reaching the worker and the store's pool."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import Client
from typer.testing import CliRunner

from cli import app
from settings import Settings, SettingsInvalid, variable
from tests.helpers import migrated
from worker import build_worker, worker_store

README = Path(__file__).parent.parent / "README.md"
runner = CliRunner()


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    monkeypatch.setenv("VPDN_DATA_DIR", str(tmp_path))


def test_the_readme_table_lists_exactly_the_settings():
    section = README.read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^\| `(VPDN_\w+)`", section, flags=re.MULTILINE)

    assert sorted(documented) == sorted(variable(name) for name in Settings.model_fields)


def test_defaults_make_a_fresh_checkout_work(tmp_path):
    settings = Settings()

    assert settings.database_url == f"sqlite:///{tmp_path / 'gpms.db'}"
    assert settings.simulator_database_url == f"sqlite:///{tmp_path / 'simulator.db'}"
    assert settings.hub_url == "http://127.0.0.1:8400"
    assert (settings.task_queue, settings.ui_port, settings.report_delay_s) == ("vpdn-orders", 8233, 0.5)
    assert settings.fallout_policy_file.name == "fallout_policy.json" and settings.password_secret_file is None
    assert settings.db_pool_size + settings.db_max_overflow == settings.activity_slots == 50


def test_failing_event_deliveries_are_kept_at_least_as_long_as_delivered_ones(monkeypatch):
    monkeypatch.setenv("VPDN_DELIVERY_RETENTION_DAYS", "120")

    with pytest.raises(SettingsInvalid) as refused:
        Settings()

    assert (Settings(failing_delivery_retention_days=120).delivery_retention_days, str(refused.value)) == (120, (
        "invalid settings: VPDN_FAILING_DELIVERY_RETENTION_DAYS=90 is shorter than VPDN_DELIVERY_RETENTION_DAYS=120: "
        "a failing "
        "delivery is kept at least as long as a delivered one"))


def test_an_empty_variable_counts_as_unset(monkeypatch):
    monkeypatch.setenv("VPDN_SIM_PORT", "")
    monkeypatch.setenv("VPDN_TASK_QUEUE", "")

    assert (Settings().simulator_port, Settings().task_queue) == (8400, "vpdn-orders")


@pytest.mark.parametrize(("name", "value", "says"), [
    ("VPDN_SIM_PORT", "84OO", "VPDN_SIM_PORT='84OO' is not valid: Input should be a valid integer"),
    ("VPDN_ACTIVITY_SLOTS", "0", "VPDN_ACTIVITY_SLOTS='0' is not valid: Input should be greater than or equal to 1"),
    ("VPDN_SHUTDOWN_GRACE", "30s", "VPDN_SHUTDOWN_GRACE='30s' is not valid: Input should be a valid number"),
    ("VPDN_HUB_RATE_LIMIT", "-1", "VPDN_HUB_RATE_LIMIT='-1' is not valid: Input should be greater than 0"),
])
def test_a_bad_value_stops_any_command_in_one_line_naming_it(monkeypatch, name, value, says):
    monkeypatch.setenv(name, value)

    result = runner.invoke(app, ["order", "list"])

    assert result.exit_code == 2
    assert result.output.startswith(f"error: {says}") and result.output.count("\n") == 1


def test_a_pool_smaller_than_the_activity_slots_is_refused(monkeypatch):
    monkeypatch.setenv("VPDN_ACTIVITY_SLOTS", "80")
    monkeypatch.setenv("VPDN_DB_MAX_OVERFLOW", "20")

    with pytest.raises(SettingsInvalid, match=r"VPDN_DB_POOL_SIZE=10 \+ VPDN_DB_MAX_OVERFLOW=20 connections are fewer "
                                              r"than VPDN_ACTIVITY_SLOTS=80"):
        Settings()


def test_the_store_pool_follows_the_activity_slots(monkeypatch, tmp_path):
    monkeypatch.setenv("VPDN_ACTIVITY_SLOTS", "80")
    monkeypatch.setenv("VPDN_DB_POOL_SIZE", "20")
    settings = Settings()
    migrated(settings.database_url)

    pool = worker_store(settings).engine.pool

    assert (pool.size(), pool._max_overflow) == (20, 60)  # noqa: SLF001 - no public reader of the overflow


async def test_the_worker_tunables_reach_the_worker(monkeypatch, client: Client, settings: Settings):
    for name, value in {"ACTIVITY_SLOTS": "7", "WORKFLOW_SLOTS": "9", "POLLERS": "3", "HUB_RATE_LIMIT": "12.5",
                        "SHUTDOWN_GRACE": "4", "DB_POOL_SIZE": "7"}.items():
        monkeypatch.setenv(f"VPDN_{name}", value)
    tuned = Settings(data_dir=settings.data_dir, password_secret_file=settings.password_secret_file)

    config = build_worker(client, tuned).config()

    assert config["max_concurrent_activities"] == 7 and config["activity_executor"]._max_workers == 7  # noqa: SLF001
    assert (config["max_concurrent_workflow_tasks"], config["max_concurrent_workflow_task_polls"],
            config["max_concurrent_activity_task_polls"]) == (9, 3, 3)
    assert config["max_task_queue_activities_per_second"] == 12.5
    assert config["graceful_shutdown_timeout"] == timedelta(seconds=4)
