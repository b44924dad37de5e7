"""`vpdn setup`: what an administrator does once per release, not a side effect of a worker
starting: the order store's migrations, the custom search attributes of the namespace, and
the nightly reconciliation's Temporal Schedule (created, or updated to the settings' spec).
Workers only check (`check_search_attributes`) and say what is missing.
"""

import dataclasses

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
)

from models import search_attributes
from models.reconciliation import NightlyRun, reconciliation_ids
from settings import Settings
from store import engine_for, migrate
from workflows.reconciliation import Reconciliation


class SetupMissing(Exception):
    """The namespace lacks search attributes the orders need (one line, what to run)."""


async def _missing(client: Client, namespace: str) -> tuple[dict[str, int], list[str]]:
    """The attributes to add (name: indexed value type), and those registered with another type."""
    existing = (await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace))).custom_attributes
    missing = {key.name: int(key.indexed_value_type) for key in search_attributes.ALL if key.name not in existing}
    clashing = [f"{key.name} is {IndexedValueType.Name(existing[key.name])}, not "
                f"{IndexedValueType.Name(key.indexed_value_type)}"
                for key in search_attributes.ALL if key.name in existing and existing[key.name] != key.indexed_value_type]
    return missing, clashing


async def check_search_attributes(client: Client, namespace: str) -> None:
    """Raise SetupMissing when the namespace lacks (or mistypes) a search attribute."""
    missing, clashing = await _missing(client, namespace)
    if missing or clashing:
        problems = ([f"lacks the search attributes {', '.join(missing)}"] if missing else []) + clashing
        raise SetupMissing(f"namespace {namespace} {'; '.join(problems)}: run `vpdn setup` (an administrator's step)")


async def register_search_attributes(client: Client, namespace: str) -> list[str]:
    """Add the search attributes the namespace lacks; the names added."""
    missing, clashing = await _missing(client, namespace)
    if clashing:
        raise SetupMissing(f"namespace {namespace}: {'; '.join(clashing)}: remove them first (`temporal operator "
                           "search-attribute remove`), then run `vpdn setup` again")
    if missing:
        await client.operator_service.add_search_attributes(AddSearchAttributesRequest(
            namespace=namespace, search_attributes=missing))
    return list(missing)


async def schedule_reconciliation(client: Client, settings: Settings) -> str:
    """The nightly reconciliation's schedule for the task queue: created, or (already there)
    updated to the settings' spec, paused still if an operator paused it; a run still going
    when the next is due skips that one."""
    schedule_id, workflow_id = reconciliation_ids(settings.task_queue)
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(Reconciliation.run, NightlyRun(
            deliveries_kept_days=settings.delivery_retention_days,
            failing_deliveries_kept_days=settings.failing_delivery_retention_days), id=workflow_id,
                                           task_queue=settings.task_queue),
        spec=ScheduleSpec(cron_expressions=[settings.reconcile_cron], time_zone_name=settings.reconcile_timezone),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP))
    try:
        await client.create_schedule(schedule_id, schedule)
        done = "created"
    except ScheduleAlreadyRunningError:
        await client.get_schedule_handle(schedule_id).update(lambda current: ScheduleUpdate(
            schedule=dataclasses.replace(schedule, state=current.description.schedule.state)))
        done = "updated"
    return (f"nightly reconciliation schedule {schedule_id} {done}: "
            f"{settings.reconcile_cron} ({settings.reconcile_timezone}), overlap skipped")


async def run_setup(settings: Settings, client: Client) -> list[str]:
    """Upgrade the order store, register the search attributes and schedule the nightly
    reconciliation; what was done, line by line."""
    engine = engine_for(settings.database_url)
    revision = migrate.upgrade(engine)
    added = await register_search_attributes(client, settings.namespace)
    return [f"order store {engine.url.render_as_string(hide_password=True)}: "
            f"at schema version {revision} (current)",
            f"namespace {settings.namespace}: search attributes "
            + (f"registered: {', '.join(added)}" if added else "all registered already"),
            await schedule_reconciliation(client, settings)]
