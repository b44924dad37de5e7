"""Activities that talk to the home provinces' HLRs, one member batch at a time."""

from temporalio import activity

from activities.batches import BatchMembers
from adapters.hlr import Hlr
from models.members import BatchOutcome, MemberStep


class HlrActivities:
    def __init__(self, hlr: Hlr, batches: BatchMembers) -> None:
        self._hlr = hlr
        self._batches = batches

    @activity.defn
    async def subscribe_members(self, step: MemberStep) -> BatchOutcome:
        """HLR VPDN subscription of a batch in its home province (成员开通); per-member
        results. Key: (order, stage, province, batch). Compensation: unsubscribe_members."""
        batch = step.batch
        return await self._batches.act(step, lambda numbers: self._hlr.subscribe_members(
            batch.province, batch.service_id, batch.apn, numbers, step.key))

    @activity.defn
    async def unsubscribe_members(self, step: MemberStep) -> BatchOutcome:
        """Remove the batch's VPDN subscriptions where present (exit, compensation)."""
        return await self._batches.act(step, lambda numbers: self._hlr.unsubscribe_members(
            step.batch.province, step.batch.service_id, numbers, step.key))
