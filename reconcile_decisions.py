"""A person's decision on a reconciliation difference (a `reconcile` fallout): `repair` queues
a repair order on the service (GPMS's state re-applied to the province; on a closed service,
where no order queues any more, it starts at once), `accept` makes the
province's state GPMS's, `ignore` closes it with a reason (found again, it stays ignored)."""

from collections.abc import Awaitable, Callable

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import WorkflowAlreadyStartedError

from models.fallout import FalloutDecision, FalloutView
from models.orders import NewOrder, OrderType, workflow_id_for
from models.plans import MemberPlan
from models.reconciliation import REPAIR_PREFIX, RepairOrder, why_not
from models.service import ServiceUpdate
from refusal import Refusal, RefusalKind
from store import OrderStore
from submission import start_order, submit_service_order
from workflows.repair import Repair


async def resolve_difference(store: OrderStore, connect: Callable[[], Awaitable[Client]], task_queue: str,
                             fallout: FalloutView, decision: FalloutDecision) -> tuple[str, str]:
    """Carry out the decision; the repair order (if any) and the answer. Refuses an action the
    difference does not allow, and `ignore` without a reason."""
    if decision.action not in fallout.allowed:
        kind = fallout.resource.split(" ", 1)[0]
        raise Refusal(f"{decision.action} is not allowed for difference {fallout.fallout_id} ({fallout.resource} in "
                      f"{fallout.province} {fallout.system}, {fallout.code}): "
                      f"{why_not(decision.action, fallout.system, kind, fallout.code)}; "
                      f"allowed are {', '.join(fallout.allowed)}", RefusalKind.conflict)
    if decision.action == "ignore" and not decision.reason.strip():
        raise Refusal(f"ignoring difference {fallout.fallout_id} needs a reason: say why with --reason")
    order_no, answer = None, f"difference {fallout.fallout_id} ignored: {decision.reason}"
    if decision.action == "repair":
        order_no = await _queue_repair(store, await connect(), task_queue, fallout, decision.by)
        answer = f"repair order {order_no} queued on service {fallout.service_id}"
    elif decision.action == "accept":
        _accept(store, fallout)
        answer = f"difference {fallout.fallout_id} accepted: GPMS now holds {fallout.province_holds}"
    if not store.fallouts.resolve_fallout(decision, order_no):
        raise Refusal(f"fallout {fallout.fallout_id} was resolved meanwhile", RefusalKind.conflict)
    return order_no or "", answer


async def _queue_repair(store: OrderStore, client: Client, task_queue: str, fallout: FalloutView, by: str) -> str:
    service = store.services.get_service(fallout.service_id)
    if service is None:
        raise Refusal(f"service {fallout.service_id} is unknown to GPMS: nothing to repair from", RefusalKind.conflict)
    resource_kind, key = fallout.resource.split(" ", 1)
    order = RepairOrder(order_no=f"{REPAIR_PREFIX}{fallout.fallout_id}-{fallout.occurrence}",
                        service_id=service.service_id, customer_code=service.customer_code,
                        provinces=[fallout.province], apn=service.apn, requested_by=by, fallout_id=fallout.fallout_id,
                        province=fallout.province, system=fallout.system, resource_kind=resource_kind,
                        problem=fallout.code, rental_id=key if resource_kind in ("rental", "rental_record") else "")
    try:
        if service.state == "closed":  # no order runs on it any more: no queue to wait in
            store.orders.record_order(NewOrder(  # recorded before it starts, as a queued order is
                order_no=order.order_no, order_type=OrderType.repair, customer_code=order.customer_code,
                workflow_id=workflow_id_for(OrderType.repair, order.order_no), requested_by=by,
                service_id=service.service_id, provinces=order.provinces), f"{order.order_no}:started")
            await start_order(client, task_queue, Repair.run, order, order_type=OrderType.repair,
                              order_no=order.order_no, customer_code=order.customer_code, provinces=order.provinces)
            return order.order_no
        return (await submit_service_order(client, task_queue, order)).order_no
    except WorkflowAlreadyStartedError:
        raise Refusal(f"repair order {order.order_no} was started already", RefusalKind.conflict) from None
    except WorkflowUpdateFailedError as error:
        raise Refusal(f"service {service.service_id} does not take the repair: {error.cause}",
                      RefusalKind.conflict) from None


def _accept(store: OrderStore, fallout: FalloutView) -> None:
    """The province's state becomes GPMS's record: a member's billed plan, or the day the
    access province's billing started the rental (models.reconciliation.ACCEPTABLE)."""
    held = store.fallouts.province_data(fallout.fallout_id)
    kind, key = fallout.resource.split(" ", 1)
    if kind == "rental":
        store.services.update_service(ServiceUpdate(service_id=fallout.service_id, rental_start=held["start_date"]))
        return
    plan = MemberPlan.model_validate(held["plan"]) if held.get("plan") else None
    store.terms.accept_plan(fallout.service_id, key, plan, held.get("plan_from"), fallout.fallout_id)
