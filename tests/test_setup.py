"""`vpdn setup` is the administrator's step: on a server without the search attributes the
worker refuses in one line naming them; setup registers them and upgrades the order store."""

import asyncio

from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from cli import app
from models import search_attributes
from settings import Settings, temporal_cli_path
from store import engine_for, migrate

runner = CliRunner()
NAMES = [key.name for key in search_attributes.ALL]


async def vpdn(*args: str, env: dict) -> tuple[int, str]:
    result = await asyncio.to_thread(runner.invoke, app, list(args), env=env)
    return result.exit_code, result.output


async def test_setup_registers_what_the_worker_only_checks(settings: Settings, tmp_path):
    async with await WorkflowEnvironment.start_local(  # a server without our search attributes
            data_converter=pydantic_data_converter, dev_server_existing_path=str(temporal_cli_path()),
            dev_server_log_level="error") as server:
        env = {"TEMPORAL_ADDRESS": server.client.service_client.config.target_host, "TEMPORAL_NAMESPACE": "default",
               "VPDN_DATA_DIR": str(settings.data_dir), "VPDN_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
               "VPDN_PASSWORD_SECRET_FILE": str(settings.password_secret_file),
               "VPDN_PAYLOAD_KEYS_FILE": str(settings.payload_keys_file)}
        migrate.upgrade(engine_for(env["VPDN_DATABASE_URL"]))

        refused = await vpdn("worker", env=env)
        registered = await server.client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace="default"))
        env["VPDN_DATABASE_URL"] = f"sqlite:///{tmp_path / 'new.db'}"
        first = await vpdn("setup", env=env)
        again = await vpdn("setup", env=env)

    assert refused[0] == 2 and refused[1].count("\n") == 1
    assert f"namespace default lacks the search attributes {', '.join(NAMES)}: run `vpdn setup`" in refused[1]
    assert not set(NAMES) & set(registered.custom_attributes)  # the worker registered nothing
    assert first[0] == 0, first[1]
    assert f"search attributes registered: {', '.join(NAMES)}" in first[1]
    assert f"new.db: at schema version {migrate.head()}" in first[1]
    assert again[0] == 0 and "search attributes all registered already" in again[1]
