"""Process 3, service opening (业务开通): a new cross-province VPDN, from order to rental start.

Steps: order accepted → business audit → group business acceptance orders to all related
provinces (each configures the group tariff package and reports) → the access CRM's work
order, with the local dedicated-line scheduling order when there is a line → rental starts
per the rule (billing; HQ settlement for off-site payment) → service active.
Every step with an effect registers its undo first; a failure or a cancellation undoes
them in reverse. An undo that fails holds the order for a person.
"""

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows.common import BEIJING, failure_text, in_store
from workflows.order_workflow import OrderWorkflow, Rejected

with workflow.unsafe.imports_passed_through():
    from activities.crm import CrmActivities
    from activities.line import LineActivities
    from activities.order_store import OrderStoreActivities
    from models.acceptance import TableRequest
    from models.orders import NewOrder, OrderState, OrderType, workflow_id_for
    from models.service import (
        RentalRule,
        ServiceOpeningOrder,
        ServiceOpeningResult,
        ServiceRegistration,
        ServiceUpdate,
    )
    from models.service_steps import (
        AccessWorkOrder,
        LineScheduling,
        RentalStart,
        TariffConfiguration,
    )



@workflow.defn
class ServiceOpening(OrderWorkflow[ServiceOpeningResult]):
    order_type = OrderType.service_opening

    @workflow.init
    def __init__(self, order: ServiceOpeningOrder) -> None:
        self._setup(order.order_no, order.timers, order.requested_by, order.service_id)
        self._order = order
        self._rental_id = f"{order.service_id}:rental"
        self._tracker.status.contract = str(order.contract) if order.contract else ""

    @workflow.run
    async def run(self, order: ServiceOpeningOrder) -> ServiceOpeningResult:
        return await self._run_order(self._open())

    async def _open(self) -> ServiceOpeningResult:
        order, tracker = self._order, self._tracker
        await tracker.accept(NewOrder(
            order_no=order.order_no, order_type=OrderType.service_opening,
            workflow_id=workflow_id_for(OrderType.service_opening, order.order_no),
            customer_code=order.customer_code, requested_by=order.requested_by,
            provinces=order.provinces, service_id=order.service_id,
        ))
        await self._register_service()
        await self._business_audit(order.pre_approved_by)
        await tracker.record(
            f"order initiated: group business acceptance orders to {len(order.provinces)} provinces",
            state=OrderState.in_progress, sub_state="awaiting every province's tariff configuration",
        )
        await self._configure_tariff_everywhere()
        await tracker.record("every province confirmed its group tariff package configuration",
                             sub_state="awaiting the access province's completion")
        await self._access_work_order()
        rental_start = await self._start_rental()
        await in_store(OrderStoreActivities.update_service, ServiceUpdate(
            service_id=order.service_id, state="active", rental_id=self._rental_id, rental_start=rental_start),
            "service active")
        await self._keep_acceptance_table(TableRequest(
            order_no=order.order_no, service_id=order.service_id, order_state=OrderState.completed,
            province_reports=self._provinces.reported))
        await tracker.record(
            "service active", state=OrderState.completed,
            detail=f"service {order.service_id} ({order.apn}) active in {', '.join(order.provinces)}; "
                   f"rental from {rental_start}",
        )
        return ServiceOpeningResult(order_no=order.order_no, service_id=order.service_id,
                                    state=OrderState.completed, rental_start=rental_start)

    async def _register_service(self) -> None:
        order = self._order
        self._saga.add("discard the service record", lambda attempt: in_store(
            OrderStoreActivities.discard_service_if_present, order.service_id, "discard the service record"))
        try:
            await in_store(OrderStoreActivities.register_service, ServiceRegistration(
                order_no=order.order_no, service_id=order.service_id, customer_code=order.customer_code,
                apn=order.apn, access_province=order.access_province,
                paying_province=order.paying_province, provinces=order.provinces, tariff=order.tariff,
                line=order.line, rental_rule=order.rental_rule, contract=order.contract,
            ), "record the service")
        except ActivityError as error:
            raise Rejected(failure_text(error)) from None

    async def _configure_tariff_everywhere(self) -> None:
        """Every related province configures the group tariff package (配置集团资费套餐)."""
        order = self._order
        await self._in_every_province(
            "configure group tariff package", order.provinces, CrmActivities.configure_group_tariff,
            lambda province, attempt: TariffConfiguration(**self._step(province).model_dump(), tariff=order.tariff),
            "cancel the group tariff package", CrmActivities.cancel_group_tariff, self._step,
        )

    async def _access_work_order(self) -> None:
        """The access CRM's work order; with a line, the line center schedules it and reports
        the line completion before the CRM reports its own completion (业务竣工)."""
        order, access = self._order, self._order.access_province
        self._saga.add("withdraw the access CRM work order", lambda attempt: self._provinces.run(
            "withdraw access CRM work order", access, CrmActivities.cancel_work_order,
            self._step(access, attempt)))

        async def schedule_line() -> None:
            self._saga.add("cancel the line scheduling", lambda attempt: self._provinces.run(
                "cancel line scheduling", access, LineActivities.cancel_line, self._step(access, attempt)))
            await self._provinces.run(
                "dedicated-line scheduling", access, LineActivities.schedule_line,
                LineScheduling(**self._step(access).model_dump(), line=order.line),
            )

        await self._provinces.run(
            "access CRM work order", access, CrmActivities.service_work_order,
            AccessWorkOrder(**self._step(access).model_dump(), with_line=order.line is not None),
            meanwhile=schedule_line if order.line else None,
        )
        await self._tracker.record("access province reported completion")

    async def _start_rental(self) -> str:
        """Rental starts per the rule (按照规则起租) in billing; for off-site payment the start
        also goes to HQ settlement."""
        order, access = self._order, self._order.access_province
        start_date = await self._rental_start_date()
        rental = lambda attempt=1: RentalStart(  # noqa: E731
            **self._step(access, attempt).model_dump(), start_date=start_date,
            rule=order.rental_rule, paying_province=order.paying_province, rental_id=self._rental_id)
        await self._rental_starts(rental, order.off_site_payment)
        return start_date

    async def _rental_start_date(self) -> str:
        rule = self._order.rental_rule
        today = workflow.now().astimezone(BEIJING).date()
        if rule == RentalRule.next_day:
            return (today + timedelta(days=1)).isoformat()
        if rule == RentalRule.next_month:
            return (today.replace(day=28) + timedelta(days=4)).replace(day=1).isoformat()
        await self._customer_confirms_rental()
        return workflow.now().astimezone(BEIJING).date().isoformat()

    async def _result(self, state: OrderState) -> ServiceOpeningResult:
        return ServiceOpeningResult(order_no=self._order.order_no, service_id=self._order.service_id,
                                    state=state)
