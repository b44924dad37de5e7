"""The HQ hub's wire messages: what GPMS sends to a province's system and what comes back.

Shared by the hub client (`adapters/hub.py`) and the provinces' simulator, so both speak the
same API: ``POST /v1/provinces/{province}/{system}/{operation}`` with a `HubRequest`; the
reports come back to GPMS's door (`api/hub.py`) as a `HubReport`.
"""

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

REPORT_SIGNAL = "report"


def idempotency_key(order_no: str, step: str, province: str, batch: str = "") -> str:
    """The key every adapter call carries: (order number, step, province[, member batch])."""
    return ":".join(part for part in (order_no, step, province, batch) if part)


class HubRequest(BaseModel):
    idempotency_key: str = Field(min_length=1, max_length=300)
    payload: dict[str, Any] = Field(default_factory=dict)
    # A work order reported later carries an opaque reference its completion report names.
    correlation: str | None = Field(default=None, min_length=1, max_length=100)


class HubAnswer(BaseModel):
    """A province's answer: `done` for synchronous work, `accepted` when a report will follow."""

    status: Literal["done", "accepted"]
    data: dict[str, Any] = Field(default_factory=dict)


class HubRejection(BaseModel):
    """A business rejection (HTTP 422): the province will not do this, retrying will not help."""

    code: str
    text: str


class ExpectedReport(BaseModel):
    """A work order an order sent and expects a completion report for: the report counts
    only with this key from this province, system and operation."""

    idempotency_key: str
    province: str
    system: str
    operation: str


class WorkOrderReference(BaseModel):
    """What a work order's correlation reference stands for at GPMS: the order's workflow and
    the work order it sent (the province, system and operation it went to)."""

    workflow_id: str
    idempotency_key: str
    province: str
    system: str
    operation: str


class HubReport(BaseModel):
    """A province's completion report (报竣) as the hub delivers it to GPMS's door: it names its
    work order by the correlation reference the work order carried, nothing of the engine."""

    report_id: str = Field(min_length=1, max_length=100)
    correlation: str = Field(min_length=1, max_length=100)
    province: str = Field(min_length=1, max_length=10)
    system: str = Field(min_length=1, max_length=30)
    operation: str = Field(min_length=1, max_length=60)
    outcome: Literal["completed", "rejected"]
    code: str | None = Field(default=None, max_length=30)
    text: str | None = Field(default=None, max_length=500)
    data: dict[str, Any] = Field(default_factory=dict)


class CompletionReport(BaseModel):
    """A province's completion report (报竣), delivered to the order's workflow as the `report`
    signal, with the key of the work order its correlation reference stands for."""

    report_id: str
    province: str
    system: str
    operation: str
    idempotency_key: str
    outcome: Literal["completed", "rejected"]
    code: str | None = None
    text: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class FaultKind(StrEnum):
    transient = "transient"  # HTTP 503, the engine retries
    reject = "reject"  # business rejection with a code and text
    latency = "latency"  # the answer comes late
    no_report = "no_report"  # the work order is accepted but its report never comes
    lost_answer = "lost_answer"  # the province does the work, its answer is lost (HTTP 504): asked again


class FaultSpec(BaseModel):
    """A fault injected into the simulated provinces; `*` matches any province/system/operation.

    `count` limits it to the next N matching calls; `rate` (0..1) makes it hit that share of
    calls; with neither it hits every matching call until reset. With `msisdns`, a `reject`
    fault rejects only those members inside batch operations (per-member results).
    """

    province: str = "*"
    system: str = "*"
    operation: str = "*"
    kind: FaultKind
    count: int | None = Field(default=None, ge=1)
    rate: float | None = Field(default=None, gt=0, le=1)
    code: str = "E9999"
    text: str = "injected fault"
    latency_ms: int = Field(default=0, ge=0)
    # Only these members: in a batch operation a `reject` fault then rejects just them.
    msisdns: list[str] | None = None


class SeedCustomerRecord(BaseModel):
    """A group customer as one province's CRM holds it."""

    province: str
    customer_code: str
    name: str
    credit_code: str  # unified social credit code (统一社会信用代码) of the enterprise
    level: Literal["group", "branch"] = "branch"


class SeedSubscriber(BaseModel):
    msisdn: str
    home_province: str
    status: Literal["active", "suspended", "barred", "cancelled"] = "active"


class SeedData(BaseModel):
    customers: list[SeedCustomerRecord] = Field(default_factory=list)
    subscribers: list[SeedSubscriber] = Field(default_factory=list)
