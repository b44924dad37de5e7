"""The order store (GPMS records): SQLModel on SQLite by default, PostgreSQL by URL.

Every write is one transaction and idempotent, so an activity retried after a crash leaves
either the old state or the new one, never both or half.
"""

from pathlib import Path

from sqlalchemy import Engine, event
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, create_engine, delete, select

from models.customer import CustomerHierarchy, ProvincialCustomerRecord
from models.orders import (
    NewOrder,
    OrderEventIn,
    OrderEventView,
    OrderState,
    OrderView,
    check_transition,
)
from models.tables import CustomerUnit, GroupCustomer, Order, OrderEvent, utcnow


def engine_for(url: str) -> Engine:
    """An engine for a database URL; creates the folder of a SQLite file."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        # Enforce foreign keys as PostgreSQL does, so both databases accept the same writes.
        event.listen(engine, "connect", lambda connection, _: connection.execute("PRAGMA foreign_keys=ON"))
        return engine
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return create_engine(url, pool_pre_ping=True)


class UnknownOrder(LookupError):
    pass


class OrderStore:
    def __init__(self, url: str) -> None:
        self.engine = engine_for(url)
        SQLModel.metadata.create_all(self.engine)

    # Orders and their audit trail

    def record_order(self, order: NewOrder, event_key: str) -> None:
        """Record an accepted order (受理), state acknowledged; a repeat changes nothing."""
        with Session(self.engine) as session:
            if session.get(Order, order.order_no):
                return
            session.add(
                Order(
                    order_no=order.order_no,
                    order_type=order.order_type,
                    workflow_id=order.workflow_id,
                    customer_code=order.customer_code,
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

    def get_order(self, order_no: str) -> OrderView | None:
        with Session(self.engine) as session:
            order = session.get(Order, order_no)
            if order is None:
                return None
            events = session.exec(
                select(OrderEvent).where(OrderEvent.order_no == order_no).order_by(OrderEvent.id)
            ).all()
            return OrderView(
                **order.model_dump(exclude={"service_id"}),
                events=[OrderEventView(**event.model_dump()) for event in events],
            )

    # Group customers

    def save_customer(self, hierarchy: CustomerHierarchy) -> None:
        """Store the identified customer and replace its hierarchy (group + branches)."""
        with Session(self.engine) as session:
            customer = session.get(GroupCustomer, hierarchy.customer_code, with_for_update=True)
            if customer is None:
                customer = GroupCustomer(
                    customer_code=hierarchy.customer_code,
                    name=hierarchy.name,
                    credit_code=hierarchy.credit_code,
                    group_province=hierarchy.group_province,
                )
            else:
                customer.name = hierarchy.name
                customer.credit_code = hierarchy.credit_code
                customer.group_province = hierarchy.group_province
                customer.updated_at = utcnow()
            session.add(customer)
            session.exec(
                delete(CustomerUnit).where(CustomerUnit.customer_code == hierarchy.customer_code)
            )
            session.flush()
            group = CustomerUnit(
                customer_code=hierarchy.customer_code,
                province=hierarchy.group_province,
                name=hierarchy.name,
                level="group",
            )
            session.add(group)
            session.flush()
            session.add_all(
                CustomerUnit(
                    customer_code=hierarchy.customer_code,
                    province=branch.province,
                    name=branch.name,
                    level="branch",
                    parent_id=group.id,
                )
                for branch in hierarchy.branches
            )
            session.commit()

    def get_customer(self, customer_code: str) -> CustomerHierarchy | None:
        with Session(self.engine) as session:
            customer = session.get(GroupCustomer, customer_code)
            if customer is None:
                return None
            branches = session.exec(
                select(CustomerUnit)
                .where(CustomerUnit.customer_code == customer_code, CustomerUnit.level == "branch")
                .order_by(CustomerUnit.province)
            ).all()
            return CustomerHierarchy(
                customer_code=customer.customer_code,
                name=customer.name,
                credit_code=customer.credit_code,
                group_province=customer.group_province,
                branches=[
                    ProvincialCustomerRecord(
                        province=unit.province,
                        customer_code=customer_code,
                        name=unit.name,
                        credit_code=customer.credit_code,
                        level="branch",
                    )
                    for unit in branches
                ],
            )
