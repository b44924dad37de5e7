"""What every part of the intake shares: the Temporal client, the look-ups its checks make,
and how an order is started directly or queued on its service."""

from collections.abc import Awaitable, Callable
from typing import Any

from temporalio.client import Client, RPCTimeoutOrCancelledError, WorkflowUpdateFailedError
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from intake.validation import validated
from models.orders import MEMBER_CHANGE_PREFIX, OrderType, OrderView, workflow_id_for
from models.service import ServiceView
from models.service_orders import ServiceOrder, SubmissionAnswer
from models.views import Accepted
from reads import Reads
from refusal import Refusal, RefusalKind, Unavailable
from settings import Settings
from store import OrderStore
from submission import start_order, submit_service_order
from workflows.common import failure_text


class IntakeBase:
    def __init__(self, settings: Settings, store: OrderStore, connect: Callable[[], Awaitable[Client]]) -> None:
        self._settings = settings
        self._store = store
        self._connect = connect
        self.reads = Reads(store, self._client)

    @property
    def settings(self) -> Settings:
        return self._settings

    async def temporal(self) -> Client:
        """The Temporal client, connected when first needed (for the routers that start workflows);
        Unavailable when it cannot be reached."""
        return await self._client()

    async def _client(self) -> Client:
        try:
            return await self._connect()
        except RuntimeError as error:
            raise Unavailable(f"cannot reach Temporal at {self._settings.temporal_address}: is `vpdn up` running? "
                              f"({error})") from None

    @staticmethod
    def _unconfirmed(order_no: str, error: Exception) -> Unavailable:
        """Temporal did not confirm a submission: it may have been taken all the same."""
        return Unavailable(f"Temporal did not confirm order {order_no} ({getattr(error, 'message', '') or 'no answer in time'}"
                           f"; are the workers running?): see `vpdn order show {order_no}` before submitting it again")

    # Look-ups the checks share

    def order(self, order_no: str) -> OrderView:
        return self.reads.order(order_no)

    def active_service(self, service_id: str, what: str) -> ServiceView:
        service = self._store.services.get_service(service_id.strip())
        if service is None:
            raise Refusal(f"no service {service_id}", RefusalKind.not_found)
        if service.state == "closing":
            closure = self._store.orders.latest_order_no(service.service_id, OrderType.service_closure)
            raise Refusal(f"service {service.service_id} is being closed" + (f" by order {closure}" if closure else "")
                          + ": it accepts no further orders")
        if service.state != "active":
            raise Refusal(f"service {service_id} is {service.state}: it takes no {what}")
        return service

    # Starting and queueing

    def _check_order_no(self, order_no: str) -> None:
        """An order number is unique across every order type; MCH-… ones are GPMS's own."""
        if order_no.startswith(MEMBER_CHANGE_PREFIX):
            raise Refusal(f"order numbers starting with {MEMBER_CHANGE_PREFIX} are reserved for members' own "
                          "number changes")
        if known := self._store.orders.get_order(order_no):
            raise Refusal(f"order {order_no} was already submitted ({known.order_type} {known.workflow_id})",
                          RefusalKind.conflict)

    async def _start(self, run: Any, order: Any, order_type: OrderType, order_no: str, customer_code: str,
                     provinces: list[str]) -> None:
        try:
            await start_order(await self._client(), self._settings.task_queue, run, order, order_type=order_type,
                              order_no=order_no, customer_code=customer_code, provinces=provinces)
        except WorkflowAlreadyStartedError:
            raise Refusal(f"order {order_no} was already submitted (workflow {workflow_id_for(order_type, order_no)})",
                          RefusalKind.conflict) from None
        except (RPCError, RPCTimeoutOrCancelledError) as error:
            raise self._unconfirmed(order_no, error) from None

    async def _queue(self, order_class: type, service: ServiceView, fields: dict) -> Accepted:
        order = validated(order_class, {**fields, "service_id": service.service_id,
                                        "customer_code": service.customer_code, "provinces": service.provinces,
                                        "apn": service.apn})
        self._check_order_no(order.order_no)
        answer = await self._submit(order)
        return self._accepted(order.order_no, OrderType(order.kind), service_id=service.service_id, queue=answer)

    async def _submit(self, order: ServiceOrder) -> SubmissionAnswer:
        try:
            return await submit_service_order(await self._client(), self._settings.task_queue, order)
        except WorkflowUpdateFailedError as error:
            raise Refusal(failure_text(error.cause), RefusalKind.conflict) from None
        except (RPCError, RPCTimeoutOrCancelledError) as error:
            raise self._unconfirmed(order.order_no, error) from None

    @staticmethod
    def _accepted(order_no: str, order_type: OrderType, **fields: Any) -> Accepted:
        return Accepted(order_no=order_no, order_type=order_type, workflow_id=workflow_id_for(order_type, order_no),
                        **fields)
