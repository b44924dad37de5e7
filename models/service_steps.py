"""An order's steps at a province on a service: the work orders sent and the province's answer."""

from typing import Literal

from pydantic import BaseModel

from models.hub import idempotency_key
from models.service import DedicatedLine, RentalRule, TariffPackage


class ServiceStep(BaseModel):
    """One step of an order at one province for one service."""

    order_no: str
    service_id: str
    province: str
    # A compensation a person asked to try again is a new request to the province.
    attempt: int = 1

    def retried(self, attempt: int) -> "ServiceStep":
        """The same step asked again (a new request to the province: a new key)."""
        return self if attempt == 1 else self.model_copy(update={"attempt": self.attempt + attempt - 1})

    def key(self, step: str, province: str | None = None) -> str:
        """The idempotency key: (order number, step, province[, attempt])."""
        attempt = f"attempt-{self.attempt}" if self.attempt > 1 else ""
        return idempotency_key(self.order_no, step, province or self.province, attempt)

    def work_order_key(self, operation: str) -> str:
        """The key of the work order `operation` sent for this step (what its report names)."""
        return self.key(operation)


class AccessWorkOrder(ServiceStep):
    """The access CRM's work order (生成业务定单); `province` is the access province."""

    with_line: bool


class TariffConfiguration(ServiceStep):
    tariff: TariffPackage
    version: int = 1
    # "restore" puts a previous version back (compensation of a change or a closure).
    purpose: Literal["configure", "restore"] = "configure"

    def work_order_key(self, operation: str) -> str:
        return self.key(f"{self.purpose}_group_tariff")


class LineScheduling(ServiceStep):
    line: DedicatedLine
    # "change" schedules a changed line; "restore" puts the previous line back.
    purpose: Literal["schedule", "change", "restore"] = "schedule"

    def work_order_key(self, operation: str) -> str:
        return self.key(f"{self.purpose}_line")


class RentalStart(ServiceStep):
    """A rental of the service (its access line) from a date; `province` is the access
    province. An opening starts `<service>:rental`; a line change starts a new one."""

    start_date: str  # ISO date, Beijing time
    rule: RentalRule
    paying_province: str
    rental_id: str


class WorkOrderAck(BaseModel):
    """A province's answer to a work order: `accepted` means its completion report follows
    under this idempotency key."""

    idempotency_key: str
    status: Literal["done", "accepted"]
