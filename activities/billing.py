"""Activities that talk to provincial billing and to HQ settlement: rentals and members."""

from temporalio import activity

from activities import acknowledged, rejections_are_final
from adapters.billing import Billing
from adapters.settlement import Settlement
from activities.batches import BatchMembers
from models.members import BatchOutcome, MemberStep
from models.plans import PlanStep
from models.provinces import HQ
from models.service_steps import RentalStart, WorkOrderAck


class RentalActivities:
    def __init__(self, billing: Billing, settlement: Settlement) -> None:
        self._billing = billing
        self._settlement = settlement

    @activity.defn
    async def start_rental(self, rental: RentalStart) -> WorkOrderAck:
        """Rental starts per the rule in the access province's billing.
        Key: (order, step, access province). Compensation: stop_rental."""
        key = rental.key("start_rental")
        return await acknowledged(key, self._billing.start_rental(
            rental.province, rental.rental_id, rental.service_id, rental.start_date, rental.rule, key
        ))

    @activity.defn
    async def stop_rental(self, rental: RentalStart) -> WorkOrderAck:
        """Stop the rental if it runs (compensation)."""
        key = rental.key("stop_rental")
        return await acknowledged(key, self._billing.stop_rental(rental.province, rental.rental_id, key))

    @activity.defn
    async def record_settlement(self, rental: RentalStart) -> WorkOrderAck:
        """Off-site payment (异地付费): the access line's rental start goes to HQ settlement.
        Key: (order, step, HQ). Compensation: cancel_settlement."""
        key = rental.key("record_settlement", HQ)
        return await acknowledged(key, self._settlement.record_rental(
            rental.rental_id, rental.service_id, rental.province, rental.paying_province,
            rental.start_date, key,
        ))

    @activity.defn
    async def cancel_settlement(self, rental: RentalStart) -> WorkOrderAck:
        """Withdraw the rental record from HQ settlement if present (compensation)."""
        key = rental.key("cancel_settlement", HQ)
        return await acknowledged(key, self._settlement.cancel_rental(rental.rental_id, key))


class MemberBillingActivities:
    def __init__(self, billing: Billing, batches: BatchMembers) -> None:
        self._billing = billing
        self._batches = batches

    @activity.defn
    async def open_members(self, step: MemberStep) -> BatchOutcome:
        """Member opening sent to billing, rental from the step's date (成员开通送计费).
        Key: (order, stage, home province, batch). Compensation: close_members."""
        batch = step.batch
        return await self._batches.act(step, lambda numbers: self._billing.open_members(
            batch.province, batch.service_id, numbers, step.rental_start, step.key))

    @activity.defn
    async def change_plans(self, step: PlanStep) -> BatchOutcome:
        """Member billing moves the batch's members to the plan from its date (成员套餐变更).
        Key: (order, stage, home province, batch). Compensation: restore_plans."""
        plan = step.plan.model_dump()
        return await self._batches.act(step, lambda numbers: self._billing.set_member_plans(
            step.batch.province, step.batch.service_id, {m: (plan, step.plan_from) for m in numbers}, step.key))

    @activity.defn
    async def restore_plans(self, step: MemberStep) -> BatchOutcome:
        """Put back in member billing the plan GPMS records for each member whose plan change
        failed (their record changes only when the change is done): exact, and safe to repeat."""
        plans = await self._batches.plans(step)
        if not plans:
            return BatchOutcome(ok=0, failed=0)
        with rejections_are_final():
            results = await self._billing.set_member_plans(step.batch.province, step.batch.service_id, plans,
                                                           step.key)
        return await self._batches.record(step, results)

    @activity.defn
    async def close_members(self, step: MemberStep) -> BatchOutcome:
        """Stop the batch's member billing where present (exit, compensation)."""
        return await self._batches.act(step, lambda numbers: self._billing.close_members(
            step.batch.province, step.batch.service_id, numbers, step.key))
