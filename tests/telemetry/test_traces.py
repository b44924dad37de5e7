"""Traces: one trace follows an order from its submission through its workflow and activity
to the call to the province's system."""

import os
import subprocess
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.instrumentation.httpx import AsyncOpenTelemetryTransport
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor

from adapters.hub import HubClient
from models.orders import OrderState
from tests.e2e.test_embedded import VPDN
from tests.helpers import acquired_customer, opening_order, start_opening
from worker import build_worker


async def test_one_trace_runs_from_the_submission_through_workflow_and_activity_to_the_hub_call(
        temporal_env, settings, simulator_transport, store):
    acquired_customer(store)
    spans, provider = InMemorySpanExporter(), TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    client = await Client.connect(temporal_env.client.service_client.config.target_host,
                                  data_converter=temporal_env.client.data_converter,
                                  interceptors=[TracingInterceptor(provider.get_tracer("vpdn"))])
    hub = HubClient(settings.hub_url,
                    transport=AsyncOpenTelemetryTransport(simulator_transport, tracer_provider=provider))
    async with build_worker(client, settings, hub=hub):
        order_no = f"TRC-{uuid.uuid4().hex[:6]}"
        result = await (await start_opening(client, settings, opening_order(order_no))).result()
    await hub.aclose()

    assert result.state == OrderState.completed
    finished = spans.get_finished_spans()
    [submission] = [s for s in finished if s.name == "StartWorkflow:ServiceOpening"]
    in_its_trace = [s for s in finished if s.context.trace_id == submission.context.trace_id]
    names = {s.name for s in in_its_trace}
    assert {"RunWorkflow:ServiceOpening", "StartActivity:schedule_line", "RunActivity:schedule_line"} <= names
    # The line center's call is a span of that trace, under the activity that made it.
    [line_call] = [s for s in in_its_trace if "/v1/provinces/SH/line/schedule_line" in str(s.attributes.get("url.full",
                   s.attributes.get("http.url", "")))]
    parent = next(s for s in in_its_trace if s.context.span_id == line_call.parent.span_id)
    assert parent.name == "RunActivity:schedule_line"


class _Collector(BaseHTTPRequestHandler):
    """Stands in for both the simulator (an empty holding) and an OTLP/HTTP trace collector."""

    exported: list[bytes] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self._answer(b"[]")

    def do_POST(self) -> None:  # noqa: N802
        self.exported.append(self.rfile.read(int(self.headers["Content-Length"])))
        self._answer(b"")

    def _answer(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json" if body else "application/x-protobuf")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def test_with_an_otlp_endpoint_set_a_commands_calls_are_exported_as_spans(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    env = {**os.environ, "VPDN_DATA_DIR": str(tmp_path), "VPDN_SIM_PORT": str(port),
           "VPDN_OTLP_ENDPOINT": f"http://127.0.0.1:{port}/v1/traces"}
    try:
        done = subprocess.run([VPDN, "sim", "holdings", "GD", "crm"], env=env, capture_output=True, text=True,
                              timeout=60)
    finally:
        server.shutdown()

    assert done.returncode == 0, done.stderr
    exported = b"".join(_Collector.exported)
    assert b"vpdn" in exported and b"/admin/provinces/GD/crm/resources" in exported
