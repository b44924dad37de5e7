"""Activities that talk to the access province's dedicated-line center."""

from temporalio import activity

from activities import acknowledged, correlation
from adapters.line import LineCenter
from models.service_steps import LineScheduling, ServiceStep, WorkOrderAck
from store import OrderStore


class LineActivities:
    def __init__(self, line_center: LineCenter, store: OrderStore) -> None:
        self._line_center = line_center
        self._store = store

    async def _correlation(self, key: str, province: str, operation: str) -> str:
        return await correlation(self._store, key, province, "line", operation)

    @activity.defn
    async def schedule_line(self, step: LineScheduling) -> WorkOrderAck:
        """Local dedicated-line scheduling order; the line completion comes as a report.
        Key: (order, step, access province). Compensation: cancel_line."""
        key = step.work_order_key("schedule_line")
        return await acknowledged(key, self._line_center.schedule_line(
            step.province, step.service_id, step.line, key,
            await self._correlation(key, step.province, "schedule_line")))

    @activity.defn
    async def cancel_line(self, step: ServiceStep) -> WorkOrderAck:
        """Cancel the line scheduling if present (compensation)."""
        key = step.key("cancel_line")
        return await acknowledged(key, self._line_center.cancel_line(step.province, step.service_id, key))

    @activity.defn
    async def terminate_line(self, step: ServiceStep) -> WorkOrderAck:
        """The line's rent-termination order (退租); its completion comes as a report.
        Key: (order, step, access province). Compensation: schedule_line (restore)."""
        key = step.key("terminate_line")
        return await acknowledged(key, self._line_center.terminate_line(
            step.province, step.service_id, key, await self._correlation(key, step.province, "terminate_line")))
