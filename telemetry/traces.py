"""Traces (OpenTelemetry), off unless `VPDN_OTLP_ENDPOINT` is set: Temporal's tracing
interceptor follows an order from the client that submits it through its workflow and
activities, and httpx's instrumentation adds each call to the hub under the activity that
makes it, so one trace shows a command's whole path.

OpenTelemetry is imported only when tracing starts: every CLI command would pay for it."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from temporalio.client import Interceptor

_tracing = False


def start_tracing(endpoint: str, service: str) -> None:
    """Export this process's spans to the OTLP (HTTP) endpoint; Temporal clients connected
    after this trace, and every httpx request is a span."""
    global _tracing
    if not endpoint or _tracing:
        return
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)
    HTTPXClientInstrumentor().instrument()
    _tracing = True


def tracing_interceptors() -> "list[Interceptor]":
    """What a Temporal client (and the workers made from it) needs to trace, once started."""
    if not _tracing:
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor()]


def stop_tracing() -> None:
    """Send the spans not yet exported (the CLI leaves without running exit handlers)."""
    if _tracing:
        from opentelemetry import trace

        trace.get_tracer_provider().shutdown()
