"""`POST /reconcile` (operators): the order store against what every province holds."""

from collections.abc import AsyncIterator
from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel

from api.auth import Principal, Role, require
from reconcile import Reconciler

router = APIRouter(tags=["reconcile"])


class Difference(BaseModel):
    service_id: str
    province: str
    system: str
    kind: str
    key: str
    problem: str
    code: str  # the problem's class: missing, unexpected, stale, starts, plan, unknown service, simulator
    gpms_holds: str
    province_holds: str


class Reconciliation(BaseModel):
    agree: bool
    differences: list[Difference]


async def hub(request: Request) -> AsyncIterator[httpx.AsyncClient]:
    """The HQ hub whose admin API tells what the provinces hold (tests override it)."""
    async with httpx.AsyncClient(base_url=request.app.state.intake.settings.hub_url, timeout=120) as client:
        yield client


@router.post("/reconcile", response_model=Reconciliation)
async def reconcile(request: Request, _: Annotated[Principal, Depends(require(Role.operator))],
                    client: Annotated[httpx.AsyncClient, Depends(hub)]) -> Reconciliation:
    """Compare what GPMS recorded with what every province holds: every difference."""
    intake = request.app.state.intake
    temporal = await intake.temporal()  # the orders it runs, to find any the store never recorded
    try:
        found = await Reconciler(request.app.state.store, client, temporal, intake.settings.task_queue).differences()
    except httpx.HTTPError as error:
        raise HTTPException(502, f"cannot read the provinces' holdings at {client.base_url}: {error}") from None
    return Reconciliation(agree=not found, differences=[Difference(**vars(d)) for d in found])
