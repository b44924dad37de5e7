"""The worker's Prometheus endpoint: the SDK's metrics and the orders' own, as an operator's
dashboard reads them."""

import json
import re
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from adapters.hub import HubClient
from models.fallout import FalloutDecision
from models.orders import OrderState
from telemetry.metrics import OUR_METRICS, prometheus_runtime
from tests.e2e.test_embedded import free_port
from tests.helpers import acquired_customer, inject, opening_order, start_opening
from tests.telemetry.prometheus import samples, total
from tests.workflows.test_fallout import held_on
from worker import build_worker
from workflows.service_opening import ServiceOpening

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana" / "vpdn-orders.json"


@pytest.fixture
def settings(settings):
    """Provinces that report after 1.2 s, past the orders' 1 s SLA: each report is late."""
    return settings.model_copy(update={"report_delay_s": 1.2})


async def scrape_after_an_opening_with_a_fallout(temporal_env, settings, simulator, simulator_transport,
                                                 store) -> str:
    """An opening whose SH line center rejects once (held, retried by a person), whose BJ
    CRM is unavailable once and whose reports are all late, on a worker that serves metrics."""
    acquired_customer(store)
    address = f"127.0.0.1:{free_port()}"
    client = await Client.connect(temporal_env.client.service_client.config.target_host,
                                  data_converter=temporal_env.client.data_converter, runtime=prometheus_runtime(address))
    await inject(simulator, province="SH", system="line", operation="schedule_line", kind="reject",
                 code="E6001", text="duct full at the address", count=1)
    await inject(simulator, province="BJ", system="crm", operation="configure_group_tariff", kind="transient",
                 count=1)
    hub = HubClient(settings.hub_url, transport=simulator_transport)
    async with build_worker(client, settings, hub=hub):
        handle = await start_opening(client, settings, opening_order("MET-OPEN", timers={
            "jeopardy_after": timedelta(seconds=1), "fail_after": timedelta(seconds=60)}))
        fallout_id = await held_on(handle)
        await handle.execute_update(ServiceOpening.resolve_fallout, FalloutDecision(
            fallout_id=fallout_id, action="retry", by="ops-wang", reason="duct cleared"))
        assert (await handle.result()).state == OrderState.completed
    await hub.aclose()
    async with httpx.AsyncClient() as http:
        return (await http.get(f"http://{address}/metrics")).text


async def test_the_worker_counts_orders_fallouts_jeopardy_and_each_provinces_calls_as_the_dashboard_reads_them(
        temporal_env, settings, simulator, simulator_transport, store):
    text = await scrape_after_an_opening_with_a_fallout(temporal_env, settings, simulator, simulator_transport,
                                                        store)

    assert total(text, "vpdn_orders_started", order_type="service_opening") == 1
    assert total(text, "vpdn_orders_ended", order_type="service_opening", state="completed") == 1
    assert total(text, "vpdn_fallouts_opened", step="dedicated-line scheduling", province="SH") == 1
    assert total(text, "vpdn_fallouts_resolved", action="retry") == 1
    assert total(text, "vpdn_province_call_failures", province="SH", system="line", operation="schedule_line",
                 code="E6001") == 1
    assert total(text, "vpdn_province_call_failures", province="BJ", system="crm", code="unavailable") == 1
    # BJ's tariff was asked twice (once unavailable), SH's line twice (once rejected).
    assert total(text, "vpdn_province_calls", province="BJ", system="crm", operation="configure_group_tariff") == 2
    assert total(text, "vpdn_province_calls", province="SH", system="line", operation="schedule_line") == 2
    assert total(text, "vpdn_report_wait_seconds_count", province="SH", system="line") == 1
    assert total(text, "temporal_workflow_completed") >= 1  # the SDK's own metrics, on the same endpoint
    entered = total(text, "vpdn_jeopardy_entered", order_type="service_opening")
    assert entered >= 1 and total(text, "vpdn_jeopardy_cleared", order_type="service_opening") == entered

    exported = {name for name, _, _ in samples(text)}
    queries = [target["expr"] for panel in json.loads(DASHBOARD.read_text())["panels"]
               for target in panel.get("targets", [])]

    used = {name for query in queries for name in re.findall(r"\b(?:vpdn|temporal)_[a-z_]+\b", query)}
    assert used - exported == set()
    # Every metric of ours is on the dashboard.
    assert {m for m in OUR_METRICS if not any(name.startswith(m) for name in used)} == set()
