"""A person's decision on a reconciliation difference (a `reconcile` fallout): `repair` queues
a repair order on the service (GPMS's state re-applied to the province; on a closed service,
where no order queues any more, it starts at once), `accept` makes the province's state
GPMS's, `ignore` closes it with a reason (found again, it stays ignored). The decision is
claimed on the worklist first, so one taken meanwhile by someone else changes nothing; one
that cannot be carried out opens the difference again."""

from intake.base import IntakeBase
from models.fallout import FalloutDecision, FalloutView
from models.orders import NewOrder, OrderType, workflow_id_for
from models.plans import MemberPlan
from models.reconciliation import REPAIR_PREFIX, REPAIRS, RepairOrder, why_not
from models.service import ServiceUpdate
from refusal import Refusal, RefusalKind
from workflows.repair import Repair


class DifferenceIntake(IntakeBase):
    async def resolve_difference(self, fallout: FalloutView, decision: FalloutDecision) -> tuple[str, str]:
        """Carry out the decision; the repair order (if any) and the answer. Refuses an action
        the difference does not allow, and `ignore` without a reason."""
        if decision.action not in fallout.allowed:
            kind = fallout.resource.split(" ", 1)[0]
            raise Refusal(f"{decision.action} is not allowed for difference {fallout.fallout_id} ({fallout.resource} "
                          f"in {fallout.province} {fallout.system}, {fallout.code}): "
                          f"{why_not(decision.action, fallout.system, kind, fallout.code)}; "
                          f"allowed are {', '.join(fallout.allowed)}", RefusalKind.conflict)
        if decision.action == "ignore" and not decision.reason.strip():
            raise Refusal(f"ignoring difference {fallout.fallout_id} needs a reason: say why with --reason")
        if not self._store.fallouts.resolve_fallout(decision):
            raise Refusal(f"fallout {fallout.fallout_id} was resolved meanwhile", RefusalKind.conflict)
        try:
            if decision.action == "repair":
                order_no = await self._repair(fallout, decision.by)
                self._store.fallouts.repaired_by(fallout.fallout_id, order_no)
                return order_no, f"repair order {order_no} queued on service {fallout.service_id}"
            if decision.action == "accept":
                self._accept(fallout)
                return "", f"difference {fallout.fallout_id} accepted: GPMS now holds {fallout.province_holds}"
        except Exception as error:
            # Nothing done (an unconfirmed repair may have started: its number keeps it single).
            if decision.action == "accept" or isinstance(error, Refusal):
                self._store.fallouts.reopen(decision)
            raise
        return "", f"difference {fallout.fallout_id} ignored: {decision.reason}"

    async def _repair(self, fallout: FalloutView, by: str) -> str:
        service = self._store.services.get_service(fallout.service_id)
        if service is None:
            raise Refusal(f"service {fallout.service_id} is unknown to GPMS: nothing to repair from",
                          RefusalKind.conflict)
        resource_kind, key = fallout.resource.split(" ", 1)
        order = RepairOrder(order_no=repair_order_no(fallout), service_id=service.service_id, customer_code=service.customer_code,
                            provinces=[fallout.province], apn=service.apn, requested_by=by,
                            fallout_id=fallout.fallout_id, province=fallout.province, system=fallout.system,
                            resource_kind=resource_kind, problem=fallout.code,
                            repair_step=REPAIRS[fallout.system, resource_kind, fallout.code],
                            rental_id=key if resource_kind in ("rental", "rental_record") else "")
        if service.state != "closed":
            await self._submit(order)
            return order.order_no
        # No order runs on a closed service any more: no queue to wait in. Recorded before it
        # starts, as a queued order is.
        self._store.orders.record_order(NewOrder(
            order_no=order.order_no, order_type=OrderType.repair, customer_code=order.customer_code,
            workflow_id=workflow_id_for(OrderType.repair, order.order_no), requested_by=by,
            service_id=service.service_id, provinces=order.provinces), f"{order.order_no}:started")
        await self._start(Repair.run, order, OrderType.repair, order.order_no, order.customer_code, order.provinces)
        return order.order_no

    def _accept(self, fallout: FalloutView) -> None:
        """The province's state becomes GPMS's record: a member's billed plan, or the day the
        access province's billing started the rental (models.reconciliation.ACCEPTABLE)."""
        held = self._store.fallouts.province_data(fallout.fallout_id)
        kind, key = fallout.resource.split(" ", 1)
        if kind == "rental":
            self._store.services.update_service(ServiceUpdate(service_id=fallout.service_id,
                                                              rental_start=held["start_date"]))
            return
        plan = MemberPlan.model_validate(held["plan"]) if held.get("plan") else None
        self._store.terms.accept_plan(fallout.service_id, key, plan, held.get("plan_from"), fallout.fallout_id)


def repair_order_no(fallout: FalloutView) -> str:
    """The repair of one occurrence of a difference: one order, whoever asks for it again."""
    return f"{REPAIR_PREFIX}{fallout.fallout_id}-{fallout.occurrence}"
