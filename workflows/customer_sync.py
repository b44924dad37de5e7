"""Process 2, customer information sync (客户信息同步).

When a group customer's record changes in a province, that province's CRM pushes the change
through the HQ hub to GPMS. One long-lived workflow per customer receives the changes
(signal-with-start) and applies them to the stored customer and its hierarchy, one at a
time and, per province, in the order of the province's version of its record: a version
already applied, or older than one already queued, is ignored. It continues as new to live
for years.
"""

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.common import STORE_TIMEOUT, failure_text

with workflow.unsafe.imports_passed_through():
    from activities.order_store import OrderStoreActivities
    from models.customer import (
        CUSTOMER_CHANGE_SIGNAL,
        CUSTOMER_NOT_ACQUIRED,
        CUSTOMER_SYNC_WORKFLOW,
        CustomerChange,
        CustomerSyncState,
    )

PER_RUN = 500  # changes applied before continuing as new


@workflow.defn(name=CUSTOMER_SYNC_WORKFLOW)
class CustomerSync:
    @workflow.init
    def __init__(self, state: CustomerSyncState) -> None:
        self._state = state
        self._applied = 0

    @workflow.run
    async def run(self, state: CustomerSyncState) -> None:
        while True:
            await workflow.wait_condition(lambda: bool(state.pending))
            # The change stays queued while it is applied, so a repeat of it is recognised.
            change = state.pending[0]
            await self._apply(change)
            state.pending.pop(0)
            state.versions[change.province] = change.version
            self._applied += 1
            if self._applied >= PER_RUN or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(state)

    @workflow.signal(name=CUSTOMER_CHANGE_SIGNAL)
    def change(self, change: CustomerChange) -> None:
        """A province's changed record; a version not newer than the province's latest
        (applied or queued) is ignored."""
        if change.version <= self._latest_version(change.province):
            workflow.logger.info("customer %s: %s version %d ignored (not newer)",
                                 change.customer_code, change.province, change.version)
            return
        self._state.pending.append(change)

    @workflow.query
    def versions(self) -> dict[str, int]:
        """The last version applied of each province's record."""
        return self._state.versions

    @workflow.query
    def latest_version(self, province: str) -> int:
        """The latest version of a province's record received (applied or queued)."""
        return self._latest_version(province)

    def _latest_version(self, province: str) -> int:
        state = self._state
        queued = [change.version for change in state.pending if change.province == province]
        return max([state.versions.get(province, 0), *queued])

    async def _apply(self, change: CustomerChange) -> None:
        """Apply one change to the stored customer; a customer not acquired yet is noted and
        the change ignored (it must be acquired first)."""
        record = f"{change.province} record version {change.version}"
        try:
            done = await workflow.execute_activity_method(
                OrderStoreActivities.apply_customer_change,
                change,
                start_to_close_timeout=STORE_TIMEOUT,
                summary=f"apply {record}",
            )
        except ActivityError as error:
            if not (isinstance(error.cause, ApplicationError) and error.cause.type == CUSTOMER_NOT_ACQUIRED):
                raise
            done = f"ignored: {failure_text(error)}"
            workflow.logger.warning("customer %s: %s %s", change.customer_code, record, done)
        workflow.set_current_details(
            f"**customer {change.customer_code}**: {record} — {done}\n\n"
            f"(at {workflow.now():%Y-%m-%d %H:%M:%S} UTC)"
        )
