"""People's decisions on an order (approval, rejection, rental confirmation, cancellation,
compensation and fallout resolution), sent to its workflow as updates whose validators hold
the four-eyes rule; and the acceptance tables an order keeps."""

import asyncio
from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from intake.differences import DifferenceIntake
from intake.validation import validated
from models.acceptance import AcceptanceTable
from models.fallout import RECONCILE_KIND, FalloutDecision
from models.orders import OrderState, OrderStatus, OrderType, OrderView, workflow_id_for
from refusal import Refusal, RefusalKind
from workflows.common import FOUR_EYES, failure_text

AUDIT_DECISIONS = ("approve", "reject")
# Orders whose workflow the intake starts itself (the others are queued on their service,
# which records them when it takes them).
STARTED_DIRECTLY = (OrderType.service_opening, OrderType.customer_acquisition)
# How long a decision made right after the submission waits for the order to be recorded
# and to open its audit.
ACCEPTANCE_WAIT = timedelta(seconds=15)


class DecisionIntake(DifferenceIntake):
    async def decide(self, order_no: str, update: str, decision: BaseModel) -> str:
        """Send a decision to the order's workflow (an update with a validator): its answer,
        or a Refusal with the workflow's reason."""
        order = self._store.orders.get_order(order_no.strip()) or await self._recorded_order(order_no)
        client = await self._connect()
        handle = client.get_workflow_handle(order.workflow_id)
        if update in AUDIT_DECISIONS:
            await self._until_past_acceptance(handle)
        try:
            return await handle.execute_update(update, decision, result_type=str)
        except WorkflowUpdateFailedError as error:
            four_eyes = isinstance(error.cause, ApplicationError) and error.cause.type == FOUR_EYES
            raise Refusal(failure_text(error.cause),
                          RefusalKind.forbidden if four_eyes else RefusalKind.conflict) from None
        except RPCError as error:
            if order.sub_state.startswith("waiting behind"):
                raise Refusal(f"order {order.order_no} is queued, {order.sub_state}: it takes decisions once that "
                              "order has ended and this one has started", RefusalKind.conflict) from None
            if error.status == RPCStatusCode.NOT_FOUND or "already completed" in error.message:
                raise Refusal(f"order {order.order_no} is {order.state}: it takes no more decisions",
                              RefusalKind.conflict) from None
            raise

    async def resolve_fallout(self, fallout_id: str, action: str, by: str, reason: str = "") -> tuple[str, str]:
        """A person's decision on an open fallout, sent to its order: the order and its answer."""
        fallout = self._store.fallouts.get_fallout(fallout_id.strip())
        if fallout is None:
            raise Refusal(f"no fallout {fallout_id}; see `vpdn fallout list`", RefusalKind.not_found)
        if fallout.state != "open":
            raise Refusal(f"fallout {fallout.fallout_id} was already resolved: {fallout.decision} by {fallout.decided_by}"
                          + (f" ({fallout.reason})" if fallout.reason else ""), RefusalKind.conflict)
        decision = validated(FalloutDecision, {"fallout_id": fallout.fallout_id, "action": action, "by": by,
                                               "reason": reason})
        if fallout.kind == RECONCILE_KIND:
            return await self.resolve_difference(fallout, decision)
        return fallout.order_no, await self.decide(fallout.order_no, "resolve_fallout", decision)

    async def _recorded_order(self, order_no: str) -> OrderView:
        """An order the store does not record (yet). One whose workflow was just started is
        recorded by its first step: wait for it (a few seconds at most) rather than refuse it."""
        try:
            client = await self._connect()
        except RuntimeError:  # Temporal unreachable: the order is unknown all the same
            return self.order(order_no)
        for order_type in STARTED_DIRECTLY:
            try:
                await client.get_workflow_handle(workflow_id_for(order_type, order_no.strip())).describe()
            except RPCError:
                continue
            deadline = asyncio.get_running_loop().time() + ACCEPTANCE_WAIT.total_seconds()
            while asyncio.get_running_loop().time() < deadline:
                if (order := self._store.orders.get_order(order_no.strip())) is not None:
                    return order
                await asyncio.sleep(0.2)
            raise Refusal(f"order {order_no} was submitted but is not recorded yet: try again in a moment",
                          RefusalKind.conflict)
        return self.order(order_no)

    @staticmethod
    async def _until_past_acceptance(handle: Any) -> None:
        """An audit decision made the moment the order was submitted waits (a few seconds at
        most) for the order to be accepted and open its audit, instead of being refused."""
        deadline = asyncio.get_running_loop().time() + ACCEPTANCE_WAIT.total_seconds()
        while asyncio.get_running_loop().time() < deadline:
            try:
                status: OrderStatus = await handle.query("status", result_type=OrderStatus)
            except RPCError:
                return  # not started (queued): the update says why
            if status.state != OrderState.acknowledged:
                return
            await asyncio.sleep(0.2)

    # The acceptance basic information table

    def acceptance_table(self, service_id: str, order_no: str | None = None) -> AcceptanceTable:
        """A service's table as it stands, or the one kept with one of its orders."""
        service = self._store.services.get_service(service_id.strip())
        if service is None:
            raise Refusal(f"no service {service_id}", RefusalKind.not_found)
        if order_no is None:
            return self._store.acceptance.service_table(service.service_id)
        if self.order(order_no).service_id != service.service_id:
            raise Refusal(f"order {order_no} is not an order of service {service.service_id}")
        return self.order_table(order_no)

    def order_table(self, order_no: str) -> AcceptanceTable:
        """The table kept with an order when it ended."""
        order = self.order(order_no)
        table = self._store.acceptance.order_table(order.order_no)
        if table is None:
            raise Refusal(f"order {order.order_no} has no acceptance table: it is {order.state}, and a table is "
                          "kept when an opening or a member order completes or ends partial", RefusalKind.not_found)
        return table
