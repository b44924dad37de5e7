"""The Temporal worker: connects, registers the workflows and activities, runs."""

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.worker import Worker

from activities.aaa import AaaActivities
from activities.batches import BatchMembers
from activities.billing import MemberBillingActivities, RentalActivities
from activities.crm import CrmActivities
from activities.events import EventActivities
from activities.fallout import FalloutActivities
from activities.hlr import HlrActivities
from activities.line import LineActivities
from activities.member_changes import MemberChangeActivities
from activities.order_store import OrderStoreActivities
from activities.reconciliation import ReconciliationActivities
from adapters.aaa import HubAaa
from adapters.billing import HubBilling
from adapters.crm import HubCrm
from adapters.hlr import HubHlr
from adapters.hub import HubClient
from adapters.line import HubLineCenter
from adapters.passwords import SECRETS_VARIABLE, MemberPasswords, SecretsRefused
from adapters.settlement import HubSettlement
from adapters.sms import HubSms
from codec import keys_file
from models.fallout import FalloutPolicy
from settings import Settings, connect_temporal
from setup_step import check_search_attributes
from store import OrderStore
from submission import submit_service_order
from telemetry.metrics import ProvinceCalls, prometheus_runtime
from workflows.customer_acquisition import CustomerAcquisition
from workflows.customer_sync import CustomerSync
from workflows.events import EventDelivery
from workflows.member_changes import MemberChanges
from workflows.member_exit import MemberExit
from workflows.member_join import MemberJoin
from workflows.member_plan_change import MemberPlanChange
from workflows.reconciliation import Reconciliation
from workflows.repair import Repair
from workflows.service_change import ServiceChange
from workflows.service_closure import ServiceClosure
from workflows.service_opening import ServiceOpening
from workflows.service_orders import ServiceOrders
from workflows.tariff_change import TariffChange

log = logging.getLogger("vpdn.worker")
WORKFLOWS = [CustomerAcquisition, CustomerSync, ServiceOpening, MemberJoin, MemberExit, MemberPlanChange,
             MemberChanges, TariffChange, ServiceChange, ServiceClosure, ServiceOrders, EventDelivery, Reconciliation, Repair]

def member_passwords(settings: Settings) -> MemberPasswords:
    """The configured, shared password secrets. Raises SecretsRefused saying what to set:
    a worker never makes up a secret of its own."""
    if settings.password_secret_file is None:
        raise SecretsRefused(f"the member password secrets are not configured: set {SECRETS_VARIABLE} to the "
                             "secrets file every worker shares (`<version> <secret>` lines, see the README)")
    return MemberPasswords.from_file(settings.password_secret_file)


def build_worker(client: Client, settings: Settings, *, hub: HubClient | None = None,
                 passwords: MemberPasswords | None = None, store: OrderStore | None = None) -> Worker:
    """A worker for the project's task queue; `hub` replaces the HTTP hub client in tests.
    Raises SecretsRefused when the password secrets are not configured (or unusable), and
    SchemaNotCurrent when the order store is not upgraded."""
    passwords = passwords or member_passwords(settings)
    hub = hub or HubClient(settings.hub_url)
    store = store or worker_store(settings)
    batches = BatchMembers(store)
    crm = CrmActivities(HubCrm(hub), store)
    member_changes = MemberChangeActivities(
        HubCrm(hub), store, lambda order: submit_service_order(client, settings.task_queue, order))
    line = LineActivities(HubLineCenter(hub), store)
    rental = RentalActivities(HubBilling(hub), HubSettlement(hub))
    member_billing = MemberBillingActivities(HubBilling(hub), batches)
    hlr = HlrActivities(HubHlr(hub), batches)
    aaa = AaaActivities(HubAaa(hub), HubSms(hub), passwords, store.passwords, batches)
    order_store = OrderStoreActivities(store)
    fallout = FalloutActivities(store, FalloutPolicy.load(settings.fallout_policy_file))
    events = EventActivities(store)
    reconciliation = ReconciliationActivities(store, hub)
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        activities=[
            crm.query_group_customer,
            crm.configure_group_tariff,
            crm.cancel_group_tariff,
            crm.service_work_order,
            crm.cancel_work_order,
            crm.service_change_sync,
            crm.verify_members,
            crm.member_order,
            crm.member_plan_order,
            hlr.subscribe_members,
            hlr.unsubscribe_members,
            member_billing.open_members,
            member_billing.close_members,
            member_billing.change_plans,
            member_billing.restore_plans,
            aaa.create_accounts,
            aaa.remove_accounts,
            line.schedule_line,
            line.cancel_line,
            line.terminate_line,
            rental.start_rental,
            rental.stop_rental,
            rental.record_settlement,
            rental.cancel_settlement,
            order_store.record_order,
            order_store.record_order_event,
            order_store.save_customer,
            order_store.register_service,
            order_store.service_view,
            order_store.update_service,
            order_store.record_tariff_version,
            order_store.record_contract,
            order_store.member_count,
            order_store.discard_service_if_present,
            order_store.assign_batches,
            order_store.fail_batch,
            order_store.member_counts,
            order_store.finish_members,
            order_store.finish_plan_change,
            order_store.compile_acceptance_table,
            member_changes.check_notification,
            member_changes.queue_order,
            order_store.apply_customer_change,
            fallout.fallout_rule,
            fallout.open_fallout,
            fallout.resolve_fallout,
            events.next_events,
            events.deliver_event,
            reconciliation.reconcile_provinces,
            reconciliation.prepare_repair,
            reconciliation.prune_deliveries,
        ],
        interceptors=[ProvinceCalls()],
        # Sync (store) activities run in this many threads; the worker never runs more at once.
        activity_executor=ThreadPoolExecutor(settings.activity_slots),
        max_concurrent_activities=settings.activity_slots,
        max_concurrent_local_activities=settings.activity_slots,
        max_concurrent_workflow_tasks=settings.workflow_slots,
        max_concurrent_workflow_task_polls=settings.pollers,
        max_concurrent_activity_task_polls=settings.pollers,
        max_task_queue_activities_per_second=settings.hub_rate_limit,
        graceful_shutdown_timeout=settings.shutdown_grace_period,
    )


def worker_store(settings: Settings) -> OrderStore:
    """The order store with a pool for every activity slot."""
    return OrderStore(settings.database_url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow)


async def run_worker(settings: Settings) -> None:
    """Run the worker until SIGTERM or SIGINT, then stop cleanly: it polls no more tasks and
    gives running activities VPDN_SHUTDOWN_GRACE seconds to finish. Refuses to start before
    connecting when the password secrets or the payload keys are not configured
    (SecretsRefused, KeysRefused) or the order store is not upgraded (SchemaNotCurrent), and
    when the namespace lacks the search attributes (SetupMissing): `vpdn setup` is an
    administrator's step, not the worker's."""
    passwords = member_passwords(settings)
    keys_file(settings, shared=True)
    store = worker_store(settings)
    runtime = prometheus_runtime(settings.metrics_address) if settings.metrics_address else None
    client = await connect_temporal(settings, runtime)
    await check_search_attributes(client, settings.namespace)
    worker = build_worker(client, settings, passwords=passwords, store=store)
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stopping.set)
    running = asyncio.create_task(worker.run())
    log.info("running on task queue %s of %s (namespace %s)", settings.task_queue, settings.temporal_address,
             settings.namespace)
    stop = asyncio.create_task(stopping.wait())
    await asyncio.wait({running, stop}, return_when=asyncio.FIRST_COMPLETED)
    stop.cancel()
    if not running.done():
        log.info("stopping: no new tasks; running activities get up to %g s to finish", settings.shutdown_grace)
        await worker.shutdown()
    await running  # a worker that failed says why
    log.info("stopped")


if __name__ == "__main__":
    asyncio.run(run_worker(Settings()))
