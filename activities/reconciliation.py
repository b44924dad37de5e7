"""The nightly reconciliation's activities: every province's holdings against GPMS, each
difference on the fallout worklist; and a repair order's member, staged from its difference."""

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from activities import HUB_UNAVAILABLE
from adapters.hub import HubClient
from models.fallout import RECONCILE_KIND, Fallout
from models.reconciliation import ACCEPTABLE, NightlyResult, NightlyRun, RepairStart, allowed_decisions, difference_id
from reconcile import Difference, Reconciler
from store import OrderStore


def worklist_entry(difference: Difference) -> Fallout:
    """A difference as the worklist shows it: what GPMS holds, what the province holds, and
    the decisions it allows."""
    d = difference
    return Fallout(
        fallout_id=difference_id(d.province, d.system, d.kind, d.key), kind=RECONCILE_KIND, order_no="",
        order_type="reconcile", step=f"reconcile {d.kind}", province=d.province, system=d.system, code=d.code,
        text=f"{d.kind} {d.key}: GPMS holds {d.gpms_holds}; {d.province} holds {d.province_holds}",
        allowed=allowed_decisions(d.system, d.kind, d.code, d.code != "unknown service"),
        service_id=d.service_id, resource=f"{d.kind} {d.key}", gpms_holds=d.gpms_holds,
        province_holds=d.province_holds)


class ReconciliationActivities:
    def __init__(self, store: OrderStore, hub: HubClient) -> None:
        self._store = store
        self._hub = hub

    @activity.defn
    async def reconcile_provinces(self, run: NightlyRun) -> NightlyResult:
        """Read what every province's systems hold, a page at a time (a heartbeat each), compare
        with GPMS, and put each difference on the worklist, keyed by province, system and
        resource: one found again is not added twice. Safe to repeat. Counts only come back
        (no member number in the workflow's history)."""
        reconciler = Reconciler(self._store, self._hub.http, simulator_checks=False, page_size=run.page_size,
                                on_page=activity.heartbeat)
        try:
            differences = await reconciler.differences()
        except httpx.HTTPError as error:
            raise ApplicationError(f"cannot read the provinces' holdings: {error!r}", type=HUB_UNAVAILABLE,
                                   category=ApplicationErrorCategory.BENIGN) from None
        new = 0
        for d in differences:
            activity.heartbeat()  # many differences take longer to record than the heartbeat timeout
            kept = d.province_data if (d.system, d.kind, d.code) in ACCEPTABLE else {}
            new += await asyncio.to_thread(self._store.fallouts.record_difference, worklist_entry(d), kept)
        return NightlyResult(differences=len(differences), new_on_worklist=new, pages_read=reconciler.pages_read)

    @activity.defn
    def prune_deliveries(self, run: NightlyRun) -> int:
        """Forget event deliveries past their retention (delivered ones after
        `deliveries_kept_days`, failing ones after `failing_deliveries_kept_days`). Safe to repeat."""
        now = datetime.now(UTC)
        return self._store.subscriptions.prune_deliveries(now - timedelta(days=run.deliveries_kept_days),
                                                          now - timedelta(days=run.failing_deliveries_kept_days))

    @activity.defn
    def prepare_repair(self, start: RepairStart) -> None:
        """The repair order's one item: the member of its difference. Idempotent by order."""
        self._store.fallouts.stage_repair(start.order_no, start.fallout_id)
