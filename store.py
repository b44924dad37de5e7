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
from models.service import ServiceRegistration, ServiceView, TariffPackage as TariffPackageSpec
from models.tables import (
    CustomerUnit,
    GroupCustomer,
    Order,
    OrderEvent,
    TariffDiscount,
    TariffPackage,
    TariffParameter,
    VpdnService,
    utcnow,
)


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


class ServiceRefused(ValueError):
    """The service cannot be recorded: its customer is not acquired, or its APN is taken."""


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
        limit: int = 100,
    ) -> list[OrderView]:
        """Orders, newest first, filtered; without their events."""
        query = select(Order).order_by(Order.created_at.desc()).limit(limit)
        for column, value in ((Order.state, state), (Order.order_type, order_type),
                              (Order.customer_code, customer_code)):
            if value:
                query = query.where(column == value)
        with Session(self.engine) as session:
            return [OrderView(**order.model_dump()) for order in session.exec(query)]

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

    # VPDN services

    def apn_in_use(self, apn: str) -> str | None:
        """The service that uses this APN, if any."""
        with Session(self.engine) as session:
            return session.exec(select(VpdnService.service_id).where(VpdnService.apn == apn)).first()

    def register_service(self, registration: ServiceRegistration) -> None:
        """Record a service being opened, with version 1 of its tariff package.
        Idempotent by service id; raises ServiceRefused when the customer is not acquired or
        another service has the APN."""
        with Session(self.engine) as session:
            if session.get(VpdnService, registration.service_id):
                return
            if session.get(GroupCustomer, registration.customer_code) is None:
                raise ServiceRefused(f"customer {registration.customer_code} is not acquired: "
                                     f"run `vpdn customer acquire {registration.customer_code}` first")
            owner = self.apn_in_use(registration.apn)
            if owner:
                raise ServiceRefused(f"APN {registration.apn} is already used by service {owner}")
            session.add(
                VpdnService(
                    service_id=registration.service_id,
                    customer_code=registration.customer_code,
                    apn=registration.apn,
                    access_province=registration.access_province,
                    paying_province=registration.paying_province,
                    provinces=registration.provinces,
                    state="opening",
                )
            )
            session.flush()
            package = TariffPackage(service_id=registration.service_id, version=1)
            session.add(package)
            session.flush()
            tariff = registration.tariff
            session.add_all(
                [TariffParameter(package_id=package.id, name=name, value=value)
                 for name, value in tariff.parameters.items()]
                + [TariffDiscount(package_id=package.id, name=name, value=value)
                   for name, value in tariff.discounts.items()]
            )
            order = session.get(Order, registration.order_no)
            if order is not None:
                order.service_id = registration.service_id
                session.add(order)
            try:
                session.commit()
            except IntegrityError as error:
                raise ServiceRefused(f"APN {registration.apn} is already used by another service") from error

    def set_service_state(self, service_id: str, state: str) -> None:
        with Session(self.engine) as session:
            service = session.get(VpdnService, service_id, with_for_update=True)
            if service is None:
                raise LookupError(f"no service {service_id}")
            service.state = state
            session.add(service)
            session.commit()

    def discard_service_if_present(self, service_id: str) -> None:
        """Forget a service that never opened (compensation of its registration)."""
        with Session(self.engine) as session:
            service = session.get(VpdnService, service_id)
            if service is None or service.state != "opening":
                return
            package_ids = session.exec(
                select(TariffPackage.id).where(TariffPackage.service_id == service_id)
            ).all()
            for table in (TariffParameter, TariffDiscount):
                session.exec(delete(table).where(table.package_id.in_(package_ids)))
            session.exec(delete(TariffPackage).where(TariffPackage.service_id == service_id))
            for order in session.exec(select(Order).where(Order.service_id == service_id)):
                order.service_id = None
                session.add(order)
            session.flush()
            session.delete(service)
            session.commit()

    def get_service(self, service_id: str) -> ServiceView | None:
        """A service with its current (highest) tariff package version."""
        with Session(self.engine) as session:
            service = session.get(VpdnService, service_id)
            if service is None:
                return None
            package = session.exec(
                select(TariffPackage).where(TariffPackage.service_id == service_id)
                .order_by(TariffPackage.version.desc())
            ).first()
            parameters = session.exec(select(TariffParameter).where(TariffParameter.package_id == package.id))
            discounts = session.exec(select(TariffDiscount).where(TariffDiscount.package_id == package.id))
            return ServiceView(
                **service.model_dump(exclude={"created_at"}),
                tariff_version=package.version,
                tariff=TariffPackageSpec(
                    name=f"{service.apn} v{package.version}",
                    parameters={p.name: p.value for p in parameters},
                    discounts={d.name: d.value for d in discounts},
                ),
            )
