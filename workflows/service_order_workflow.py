"""What the orders on an existing service share (tariff change, service change, closure,
repair): taken only by a service in a state that takes them, completed with their amended contract."""

from typing import Any

from temporalio import workflow

from workflows.common import BEIJING, in_store
from workflows.order_workflow import OrderWorkflow, Rejected

with workflow.unsafe.imports_passed_through():
    from activities.order_store import OrderStoreActivities
    from models.contract import ContractRecord
    from models.orders import NewOrder, OrderState, workflow_id_for
    from models.service import ServiceUpdate, ServiceView
    from models.service_changes import ServiceOrderResult


class ServiceOrderWorkflow(OrderWorkflow[ServiceOrderResult]):
    """Base of the orders on an existing service (tariff change, service change, closure)."""

    def _setup_service_order(self, order: Any) -> None:
        self._setup(order.order_no, order.timers, order.requested_by, order.service_id)
        self._order = order
        self._contract = getattr(order, "contract", None)  # an amended contract, if it carries one
        self._tracker.status.contract = str(self._contract) if self._contract else ""

    async def _accept_on_active_service(self) -> ServiceView:
        """Accept the order and load the service as it is now; only an active one takes it."""
        return await self._accept_on_service(("active",))

    async def _accept_on_service(self, takes: tuple[str, ...]) -> ServiceView:
        """Accept the order and load the service as it is now; only one in a state of `takes` takes it."""
        order = self._order
        await self._tracker.accept(NewOrder(
            order_no=order.order_no, order_type=self.order_type,
            workflow_id=workflow_id_for(self.order_type, order.order_no), customer_code=order.customer_code,
            requested_by=order.requested_by, service_id=order.service_id,
        ))
        service = await in_store(OrderStoreActivities.service_view, order.service_id, "load the service")
        if service.state not in takes:
            raise Rejected(f"service {order.service_id} is {service.state}: it takes no {self.order_type} order")
        return service

    async def _record_service(self, update: ServiceUpdate, summary: str) -> None:
        await in_store(OrderStoreActivities.update_service, update, summary)

    @staticmethod
    def _rental_start_of(service: ServiceView) -> str:
        """When the service's rental started (a service recorded before start dates were
        kept: today, the best GPMS knows)."""
        return service.rental_start or workflow.now().astimezone(BEIJING).date().isoformat()

    async def _complete(self, detail: str) -> ServiceOrderResult:
        """The order completes; an amended contract it carries is recorded with that event."""
        record_contract = None
        if self._contract:
            record_contract = (OrderStoreActivities.record_contract, ContractRecord(
                service_id=self._service_id, order_no=self._order_no, amendment=self._contract),
                "record the amended contract")
            detail += f"; {self._contract} recorded"
        await self._tracker.record(f"{self.order_type} completed", state=OrderState.completed, detail=detail,
                                   after=record_contract)
        return ServiceOrderResult(order_no=self._order_no, service_id=self._service_id,
                                  state=OrderState.completed, detail=detail)

    async def _result(self, state: OrderState) -> ServiceOrderResult:
        return ServiceOrderResult(order_no=self._order_no, service_id=self._service_id, state=state)
