"""Metrics on the worker's Prometheus endpoint (`VPDN_METRICS_ADDRESS`): the Temporal SDK's own
(task slots, schedule-to-start latency, polls; prefixed `temporal_`) and the orders'.

Workflows count through `workflow.metric_meter()`, which records nothing while a history is
replayed; activities through `ProvinceCalls`, which counts every call to a province's
system with its outcome. What is "open" (fallouts, orders in jeopardy) is a difference of two
counters, so it sums across workers: `sum(opened) - sum(closed)`.
"""

import inspect
from collections.abc import Awaitable
from contextvars import ContextVar
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

ORDERS_STARTED = "vpdn_orders_started"  # order_type
ORDERS_ENDED = "vpdn_orders_ended"  # order_type, state
FALLOUTS_OPENED = "vpdn_fallouts_opened"  # order_type, step, province
FALLOUTS_RESOLVED = "vpdn_fallouts_resolved"  # order_type, action
JEOPARDY_ENTERED = "vpdn_jeopardy_entered"  # order_type
JEOPARDY_CLEARED = "vpdn_jeopardy_cleared"  # order_type
REPORT_WAIT = "vpdn_report_wait_seconds"  # province, system: from the work order sent to its report
PROVINCE_CALLS = "vpdn_province_calls"  # province, system, operation
PROVINCE_CALL_FAILURES = "vpdn_province_call_failures"  # province, system, operation, code

# The province call an activity is making (province, system, operation), for its log lines.
current_call: ContextVar[dict[str, str] | None] = ContextVar("current_call", default=None)

OUR_METRICS = (ORDERS_STARTED, ORDERS_ENDED, FALLOUTS_OPENED, FALLOUTS_RESOLVED, JEOPARDY_ENTERED,
               JEOPARDY_CLEARED, REPORT_WAIT, PROVINCE_CALLS, PROVINCE_CALL_FAILURES)

# The activity modules that call a province's system, by the system they call.
SYSTEMS = {"activities.crm": "crm", "activities.hlr": "hlr", "activities.billing": "billing",
           "activities.aaa": "aaa", "activities.line": "line"}


def prometheus_runtime(address: str) -> Runtime:
    """A Temporal runtime serving its metrics and ours at http://ADDRESS/metrics."""
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(
        bind_address=address, durations_as_seconds=True)))


def failure_code(error: BaseException) -> str:
    """A failure as a metric label: the province's rejection code, `unavailable`, or its type."""
    if isinstance(error, ApplicationError):
        details = error.details[0] if error.details else None
        if isinstance(details, dict) and details.get("code"):
            return str(details["code"])
        return "unavailable" if error.type == "HubUnavailable" else error.type or "ApplicationError"
    return type(error).__name__


class _CountedActivity(ActivityInboundInterceptor):
    def execute_activity(self, input: ExecuteActivityInput) -> Any:
        labels = self._labels(input)
        if labels is None:
            return super().execute_activity(input)
        current_call.set(labels)
        try:
            result = super().execute_activity(input)
        except BaseException as error:
            self._count(labels, error)
            raise
        if inspect.isawaitable(result):
            return self._awaited(result, labels)
        self._count(labels, None)
        return result

    async def _awaited(self, result: Awaitable, labels: dict[str, str]) -> Any:
        try:
            value = await result
        except BaseException as error:
            self._count(labels, error)
            raise
        self._count(labels, None)
        return value

    @staticmethod
    def _labels(input: ExecuteActivityInput) -> dict[str, str] | None:
        owner = getattr(input.fn, "__self__", None)
        system = SYSTEMS.get(type(owner).__module__) if owner is not None else None
        province = getattr(input.args[0], "province", None) if input.args else None
        if system is None or province is None:
            return None
        return {"province": province, "system": system, "operation": activity.info().activity_type}

    @staticmethod
    def _count(labels: dict[str, str], error: BaseException | None) -> None:
        meter = activity.metric_meter()
        meter.create_counter(PROVINCE_CALLS, "calls to a province's system").add(1, labels)
        if error is not None:
            meter.create_counter(PROVINCE_CALL_FAILURES, "failed calls to a province's system").add(
                1, {**labels, "code": failure_code(error)})


class ProvinceCalls(Interceptor):
    """Counts every call to a province's system and every failure, by province, system,
    operation and the province's error code (each attempt of a retried call counts), and
    names the call in the activity's log lines."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _CountedActivity(next)
