"""One small function per side effect; each calls one adapter or the order store."""

import asyncio
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from adapters.hub import HubRejected, HubUnavailable
from models.hub import WorkOrderReference
from models.service_steps import WorkOrderAck
from store import OrderStore

PROVINCE_REJECTED = "ProvinceRejected"
HUB_UNAVAILABLE = "HubUnavailable"


def event_key() -> str:
    """A key for an audit-trail write that stays the same across this activity's retries (a
    local activity's ids are counted apart from the others' in its run: its key says so)."""
    info = activity.info()
    return f"{info.workflow_run_id}/{'local-' if info.is_local else ''}{info.activity_id}"


async def correlation(store: OrderStore, key: str, province: str, system: str, operation: str) -> str:
    """The opaque reference a work order carries for its completion report, which goes to the
    workflow running this activity: kept under the work order's key, so a retry sends the same."""
    work_order = WorkOrderReference(workflow_id=activity.info().workflow_id, idempotency_key=key,
                                    province=province, system=system, operation=operation)
    return await asyncio.to_thread(store.correlations.reference, work_order)


@contextmanager
def rejections_are_final() -> Iterator[None]:
    """Turn a province's business rejection into a non-retryable failure with a stable type,
    and an unavailable hub into one the retry policy retries. Both are business as usual,
    not bugs: benign, so the worker logs them in one line without a traceback."""
    try:
        yield
    except HubRejected as rejection:
        raise ApplicationError(
            str(rejection),
            {"province": rejection.province, "system": rejection.system,
             "code": rejection.code, "text": rejection.text},
            type=PROVINCE_REJECTED,
            non_retryable=True,
            category=ApplicationErrorCategory.BENIGN,
        ) from None
    except HubUnavailable as unavailable:
        raise ApplicationError(str(unavailable), type=HUB_UNAVAILABLE,
                               category=ApplicationErrorCategory.BENIGN) from None


async def acknowledged(idempotency_key: str, answer: Awaitable[str]) -> WorkOrderAck:
    """A province's answer to a work order (`done`, or `accepted` with a report to follow),
    a business rejection made final."""
    with rejections_are_final():
        return WorkOrderAck(idempotency_key=idempotency_key, status=await answer)
