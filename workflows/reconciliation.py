"""The nightly reconciliation (started by its Temporal Schedule, overlap skipped): every
province's holdings, read through the hub a page at a time, against what GPMS recorded;
each difference goes on the fallout worklist (kind `reconcile`) for a person to repair,
accept or ignore. Nothing here changes a province: a repair is an order of its own."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.reconciliation import ReconciliationActivities
    from models.reconciliation import NightlyResult, NightlyRun

READ_TIMEOUT = timedelta(hours=2)  # every province's holdings
PAGE_TIMEOUT = timedelta(minutes=2)  # a heartbeat each page: a stuck read is tried again
PRUNE_DELIVERIES = "prune-event-deliveries"  # runs started before pruned nothing
PRUNE_TIMEOUT = timedelta(minutes=5)
READ_RETRY = RetryPolicy(initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=5),
                         maximum_attempts=5)


@workflow.defn
class Reconciliation:
    @workflow.run
    async def run(self, run: NightlyRun) -> NightlyResult:
        workflow.set_current_details("**nightly reconciliation**: reading the provinces' holdings")
        result = await workflow.execute_activity_method(
            ReconciliationActivities.reconcile_provinces, run, start_to_close_timeout=READ_TIMEOUT,
            heartbeat_timeout=PAGE_TIMEOUT, retry_policy=READ_RETRY,
            summary="provinces' holdings against GPMS; differences to the worklist")
        if workflow.patched(PRUNE_DELIVERIES):
            pruned = await workflow.execute_activity_method(
                ReconciliationActivities.prune_deliveries, run, start_to_close_timeout=PRUNE_TIMEOUT,
                summary="event deliveries past their retention")
            result = result.model_copy(update={"deliveries_pruned": pruned})
        workflow.set_current_details(
            f"**nightly reconciliation**: {result.differences} differences ({result.new_on_worklist} new on the "
            f"worklist), {result.pages_read} pages read, {result.deliveries_pruned} event deliveries pruned")
        return result
