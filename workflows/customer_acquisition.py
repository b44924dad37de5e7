"""Process 1, customer information acquisition (客户信息获取).

Ask every province's CRM for the customer code, identify the one enterprise behind the
answers, and store it with its hierarchy (group + provincial branches). Reads only: nothing
to compensate.
"""

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.common import PROVINCE_RETRY, OrderTracker, fan_out, in_store

with workflow.unsafe.imports_passed_through():
    from activities.crm import CrmActivities
    from activities.order_store import OrderStoreActivities
    from models.customer import (
        AcquireCustomerInput,
        AcquisitionResult,
        CustomerNotIdentified,
        CustomerQuery,
        CustomerQueryAnswer,
        identify_customer,
    )
    from models.orders import NewOrder, OrderState, OrderStatus, OrderType, workflow_id_for
    from models.provinces import PROVINCE_CODES

CUSTOMER_NOT_IDENTIFIED = "CustomerNotIdentified"


@workflow.defn
class CustomerAcquisition:
    @workflow.init
    def __init__(self, order: AcquireCustomerInput) -> None:
        self._tracker = OrderTracker(order.order_no, OrderType.customer_acquisition)

    @workflow.run
    async def run(self, order: AcquireCustomerInput) -> AcquisitionResult:
        tracker = self._tracker
        await tracker.accept(
            NewOrder(
                order_no=order.order_no,
                order_type=OrderType.customer_acquisition,
                workflow_id=workflow_id_for(OrderType.customer_acquisition, order.order_no),
                customer_code=order.customer_code,
                requested_by=order.requested_by,
                provinces=list(PROVINCE_CODES),
            )
        )
        await tracker.record(
            "querying every province's CRM",
            state=OrderState.in_progress,
            sub_state=f"awaiting {len(PROVINCE_CODES)} provincial CRMs",
        )
        try:
            answers = await fan_out(PROVINCE_CODES, lambda p: self._query(order, p))
        except ActivityError as error:
            raise await tracker.fail("a province's CRM could not be queried", error)
        records = [answer.record for answer in answers if answer.record is not None]
        try:
            hierarchy = identify_customer(order.customer_code, records)
        except CustomerNotIdentified as error:
            raise await tracker.fail(
                "customer not identified",
                ApplicationError(str(error), type=CUSTOMER_NOT_IDENTIFIED, non_retryable=True),
            )

        await in_store(OrderStoreActivities.save_customer, hierarchy, "store customer and hierarchy")
        conflicts = ", ".join(c.province for c in hierarchy.conflicts)
        await tracker.record(
            "customer identified and hierarchy built",
            state=OrderState.completed,
            detail=f"{hierarchy.name}: group in {hierarchy.group_province}, "
            f"branches in {', '.join(b.province for b in hierarchy.branches) or 'no province'}"
            + (f"; other enterprises under this code in {conflicts}" if conflicts else ""),
        )
        return AcquisitionResult(order_no=order.order_no, hierarchy=hierarchy)

    async def _query(self, order: AcquireCustomerInput, province: str) -> CustomerQueryAnswer:
        step = self._tracker.step("query group customer", province)
        answer = await workflow.execute_activity_method(
            CrmActivities.query_group_customer,
            CustomerQuery(order_no=order.order_no, province=province, customer_code=order.customer_code),
            start_to_close_timeout=timedelta(seconds=30),
            schedule_to_close_timeout=timedelta(minutes=10),
            retry_policy=PROVINCE_RETRY,
            summary=f"query {province} CRM",
        )
        step.state = "done"
        step.detail = "record found" if answer.record else "no record"
        return answer

    @workflow.query
    def status(self) -> OrderStatus:
        return self._tracker.view()
