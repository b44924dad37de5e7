"""Order events to other systems (TM Forum hub/listener): listeners register a callback
(`/events/subscriptions`, admin or operator), each registration getting its delivery
workflow; the staff read the subscriptions and the deliveries."""

import asyncio

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from temporalio.client import Client

from api.auth import Principal, Role, require
from api.orders import READERS
from models.events import DeliveryStart, DeliveryView, NewSubscription, SubscriptionView
from models.ui_metadata import fit
from store import OrderStore
from workflows.events import EventDelivery, delivery_workflow_id

router = APIRouter(prefix="/events", tags=["order events"])
MANAGERS = (Role.admin, Role.operator)


class SubscriptionCreated(SubscriptionView):
    secret: str | None = None  # the generated secret, shown this once


async def start_delivery(client: Client, task_queue: str, subscription: SubscriptionView) -> None:
    """Start a subscription's delivery workflow, from its cursor."""
    await client.start_workflow(
        EventDelivery.run, DeliveryStart(subscription_id=subscription.id, cursor=subscription.cursor),
        id=delivery_workflow_id(subscription.id), task_queue=task_queue,
        static_summary=fit(f"order events to {subscription.callback}"))


@router.post("/subscriptions", status_code=201,
             summary="Register a listener: its callback gets the order events from now on (admin, operator)")
async def subscribe(request: Request, new: NewSubscription,
                    principal: Principal = Depends(require(*MANAGERS))) -> SubscriptionCreated:
    store: OrderStore = request.app.state.store
    intake = request.app.state.intake
    subscription, secret = await asyncio.to_thread(store.subscriptions.create, new, principal.name)
    try:
        await start_delivery(await intake.temporal(), intake.settings.task_queue, subscription)
    except Exception as error:  # noqa: BLE001 - no subscription without its delivery
        await asyncio.to_thread(store.subscriptions.remove, subscription.id)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            f"the subscription's delivery could not start, so it is not kept: {error}") from None
    return SubscriptionCreated(**subscription.model_dump(), secret=None if new.secret else secret)


@router.get("/subscriptions", summary="The listeners (never their secrets)")
async def subscriptions(request: Request,
                        principal: Principal = Depends(require(*READERS))) -> list[SubscriptionView]:
    return await asyncio.to_thread(request.app.state.store.subscriptions.list_subscriptions)


@router.delete("/subscriptions/{subscription_id}", summary="Remove a listener: nothing more is sent to it "
               "(admin, operator)")
async def unsubscribe(request: Request, subscription_id: str,
                      principal: Principal = Depends(require(*MANAGERS))) -> dict:
    if not await asyncio.to_thread(request.app.state.store.subscriptions.remove, subscription_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no subscription {subscription_id}; see `vpdn events list`")
    return {"id": subscription_id, "removed": True}


@router.get("/deliveries", summary="The latest deliveries; failed=true: those whose last attempt failed")
async def deliveries(request: Request, failed: bool = False, subscription: str | None = None,
                     limit: int = Query(100, ge=1, le=1000),
                     principal: Principal = Depends(require(*READERS))) -> list[DeliveryView]:
    found = await asyncio.to_thread(request.app.state.store.subscriptions.deliveries, failed=failed,
                                    subscription_id=subscription, limit=limit)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no subscription {subscription}; see `vpdn events list`")
    return found
