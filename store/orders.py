"""Orders (订单) and their audit trail: every state change is an order event."""

from datetime import timedelta

from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models.orders import (
    MEMBER_ORDER_TYPES,
    TERMINAL_STATES,
    NewOrder,
    OrderEventIn,
    OrderEventView,
    OrderState,
    OrderType,
    OrderView,
    check_transition,
)
from store.tables import MemberStaging, Order, OrderEvent, utcnow

# Orders whose members are staged before they are submitted.


class UnknownOrder(LookupError):
    pass


class OrderNumberInUse(ValueError):
    """The order number belongs to another order (of any type)."""


class MembersNotStaged(ValueError):
    """A member order whose members are not (or no longer) staged."""


class OrderRecords:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record_order(self, order: NewOrder, event_key: str) -> None:
        """Record an accepted order (受理), state acknowledged; a repeat changes nothing.
        A member order's staged members become submitted in the same transaction (its
        commit point). Raises OrderNumberInUse when another order has that number, and
        MembersNotStaged when a member order's members are not staged."""
        with Session(self.engine) as session:
            if existing := session.get(Order, order.order_no):
                if existing.workflow_id != order.workflow_id:
                    raise OrderNumberInUse(f"order number {order.order_no} is already used by "
                                           f"{existing.order_type} order {existing.workflow_id}")
                return
            if order.order_type in MEMBER_ORDER_TYPES and not session.exec(
                    update(MemberStaging).where(MemberStaging.order_no == order.order_no)
                    .values(state="submitted")).rowcount:
                raise MembersNotStaged(f"the members of order {order.order_no} are no longer staged "
                                       "(its submission was interrupted and cleared): submit it again")
            session.add(
                Order(
                    order_no=order.order_no,
                    order_type=order.order_type,
                    workflow_id=order.workflow_id,
                    customer_code=order.customer_code,
                    service_id=order.service_id,
                    state=OrderState.acknowledged,
                    requested_by=order.requested_by,
                    provinces=order.provinces,
                )
            )
            session.flush()
            session.add(
                OrderEvent(
                    order_no=order.order_no,
                    event_key=event_key,
                    actor=order.requested_by,
                    event="order accepted",
                    detail=f"{order.order_type} for customer {order.customer_code}",
                    state=OrderState.acknowledged,
                )
            )
            session.commit()

    def record_event(self, event: OrderEventIn, event_key: str) -> None:
        """Append to the audit trail and move the order's state; a repeated key is ignored.

        Raises InvalidTransition when the transition table forbids the move.
        """
        with Session(self.engine) as session:
            order = session.get(Order, event.order_no, with_for_update=True)
            if order is None:
                raise UnknownOrder(f"no order {event.order_no}")
            if session.exec(
                select(OrderEvent.id).where(
                    OrderEvent.order_no == event.order_no, OrderEvent.event_key == event_key
                )
            ).first():
                return
            if event.state is not None:
                check_transition(OrderState(order.state), event.state)
                order.state = event.state
            if event.sub_state is not None:
                order.sub_state = event.sub_state
            order.updated_at = utcnow()
            session.add(order)
            session.add(
                OrderEvent(
                    order_no=event.order_no,
                    event_key=event_key,
                    actor=event.actor,
                    event=event.event,
                    detail=event.detail,
                    state=event.state,
                )
            )
            try:
                session.commit()
            except IntegrityError:
                # The same event was committed concurrently by a retry: it is recorded once.
                session.rollback()

    def list_orders(
        self,
        *,
        state: str | None = None,
        order_type: str | None = None,
        customer_code: str | None = None,
        province: str | None = None,
        unchanged_for: timedelta | None = None,
        service_id: str | None = None,
        limit: int = 100,
    ) -> list[OrderView]:
        """Orders, newest first, filtered; without their events."""
        return self._matching(state, order_type, customer_code, province, unchanged_for, service_id)[:limit]

    def count_orders(self, *, state: str | None = None, order_type: str | None = None,
                     customer_code: str | None = None, province: str | None = None,
                     unchanged_for: timedelta | None = None, service_id: str | None = None) -> int:
        """How many orders the same filters match."""
        return len(self._matching(state, order_type, customer_code, province, unchanged_for, service_id))

    def _matching(self, state: str | None, order_type: str | None, customer_code: str | None,
                  province: str | None, unchanged_for: timedelta | None,
                  service_id: str | None = None) -> list[OrderView]:
        query = select(Order).order_by(Order.created_at.desc())
        for column, value in ((Order.state, state), (Order.order_type, order_type),
                              (Order.customer_code, customer_code), (Order.service_id, service_id)):
            if value:
                query = query.where(column == value)
        if unchanged_for is not None:
            query = query.where(Order.updated_at <= utcnow() - unchanged_for)
        with Session(self.engine) as session:
            return [OrderView(**order.model_dump()) for order in session.exec(query)
                    if province is None or province in order.provinces]

    def open_orders(self, service_id: str) -> list[OrderView]:
        """A service's orders that have not ended, oldest first (the one running, then those
        queued behind it); without their events."""
        query = select(Order).where(Order.service_id == service_id, Order.state.not_in(
            [str(state) for state in TERMINAL_STATES])).order_by(Order.created_at)
        with Session(self.engine) as session:
            return [OrderView(**order.model_dump()) for order in session.exec(query)]

    def latest_order_no(self, service_id: str, order_type: OrderType) -> str | None:
        """The number of a service's latest order of a type, if it has one."""
        with Session(self.engine) as session:
            return session.exec(select(Order.order_no).where(
                Order.service_id == service_id, Order.order_type == order_type).order_by(
                Order.created_at.desc()).limit(1)).first()

    def get_order(self, order_no: str) -> OrderView | None:
        with Session(self.engine) as session:
            order = session.get(Order, order_no)
            if order is None:
                return None
            events = session.exec(
                select(OrderEvent).where(OrderEvent.order_no == order_no).order_by(OrderEvent.id)
            ).all()
            return OrderView(
                **order.model_dump(),
                events=[OrderEventView(**event.model_dump()) for event in events],
            )
