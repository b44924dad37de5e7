"""The order store (GPMS records): SQLModel on SQLite by default, PostgreSQL by URL.

Every write is one transaction and idempotent, so an activity retried after a crash leaves
either the old state or the new one, never both or half.
"""

from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, event, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, create_engine, delete, func, select, update

from models.fallout import Fallout, FalloutDecision, FalloutView
from models.customer import CustomerChange, CustomerHierarchy, ProvincialCustomerRecord
from models.orders import (
    NewOrder,
    OrderEventIn,
    OrderEventView,
    OrderState,
    OrderView,
    check_transition,
)
from models.members import BatchRef, ItemState, MemberCounts, MemberLine, MemberResult
from models.service import (
    ServiceRegistration,
    ServiceUpdate,
    ServiceView,
    TariffVersion,
)
from models.service import TariffPackage as TariffPackageSpec
from models.tables import (
    CustomerUnit,
    FalloutRecord,
    GroupCustomer,
    Member,
    Order,
    OrderEvent,
    OrderItem,
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
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(connection, _record) -> None:
    # Foreign keys enforced as PostgreSQL does, so both databases accept the same writes;
    # WAL so that readers never wait for the worker's many short writes.
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")


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
        province: str | None = None,
        unchanged_for: timedelta | None = None,
        limit: int = 100,
    ) -> list[OrderView]:
        """Orders, newest first, filtered; without their events."""
        query = select(Order).order_by(Order.created_at.desc())
        for column, value in ((Order.state, state), (Order.order_type, order_type),
                              (Order.customer_code, customer_code)):
            if value:
                query = query.where(column == value)
        if unchanged_for is not None:
            query = query.where(Order.updated_at <= utcnow() - unchanged_for)
        with Session(self.engine) as session:
            orders = [OrderView(**order.model_dump()) for order in session.exec(query)
                      if province is None or province in order.provinces]
        return orders[:limit]

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
                    line=registration.line.model_dump() if registration.line else None,
                    rental_rule=registration.rental_rule,
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
        self.update_service(ServiceUpdate(service_id=service_id, state=state))

    def update_service(self, update: ServiceUpdate) -> None:
        """Record what a completed order changed on the service (fields left None stay)."""
        with Session(self.engine) as session:
            service = session.get(VpdnService, update.service_id, with_for_update=True)
            if service is None:
                raise LookupError(f"no service {update.service_id}")
            if update.line is not None:
                service.line = update.line.model_dump()
            if update.remove_line:
                service.line = None
            for field in ("provinces", "paying_province", "rental_id", "state"):
                if getattr(update, field) is not None:
                    setattr(service, field, getattr(update, field))
            session.add(service)
            session.commit()

    def record_tariff_version(self, version: TariffVersion) -> None:
        """Record a new version of the service's tariff package (idempotent by version)."""
        with Session(self.engine) as session:
            exists = session.exec(select(TariffPackage.id).where(
                TariffPackage.service_id == version.service_id, TariffPackage.version == version.version)).first()
            if exists:
                return
            package = TariffPackage(service_id=version.service_id, version=version.version)
            session.add(package)
            session.flush()
            session.add_all(
                [TariffParameter(package_id=package.id, name=n, value=v) for n, v in version.tariff.parameters.items()]
                + [TariffDiscount(package_id=package.id, name=n, value=v) for n, v in version.tariff.discounts.items()]
            )
            session.commit()

    def member_count(self, service_id: str) -> int:
        """How many members are now in the VPDN (joining or active)."""
        with Session(self.engine) as session:
            return session.exec(select(func.count()).select_from(Member).where(
                Member.service_id == service_id, Member.state.in_(["joining", "active"]))).one()

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

    def list_services(self) -> list[ServiceView]:
        with Session(self.engine) as session:
            service_ids = session.exec(select(VpdnService.service_id).order_by(VpdnService.service_id)).all()
        return [self.get_service(service_id) for service_id in service_ids]

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
                    name=service.apn,
                    parameters={p.name: p.value for p in parameters},
                    discounts={d.name: d.value for d in discounts},
                ),
            )

    # Members and member orders' items

    def member_homes(self, service_id: str, msisdns: list[str] | None = None) -> dict[str, str]:
        """The service's members now in the VPDN (joining or active), with their home province."""
        query = select(Member.msisdn, Member.home_province).where(
            Member.service_id == service_id, Member.state.in_(["joining", "active"]))
        if msisdns is not None:
            query = query.where(Member.msisdn.in_(msisdns))
        with Session(self.engine) as session:
            return dict(session.exec(query).all())

    def service_of_member(self, msisdn: str) -> str | None:
        """The VPDN service a number is now a member of, if any."""
        with Session(self.engine) as session:
            return session.exec(select(Member.service_id).where(
                Member.msisdn == msisdn, Member.state.in_(["joining", "active"]))).first()

    def stage_items(self, order_no: str, members: list[MemberLine], homes: dict[str, str] | None = None) -> None:
        """Put a member order's members in the store before its workflow starts; with `homes`
        (an exit) they are already valid in their home provinces. A repeat changes nothing."""
        with Session(self.engine) as session:
            if session.exec(select(OrderItem.id).where(OrderItem.order_no == order_no)).first():
                return
            session.execute(insert(OrderItem), [
                {"order_no": order_no, "msisdn": m.msisdn, "name": m.name,
                 "home_province": homes[m.msisdn] if homes else None,
                 "state": ItemState.valid if homes else ItemState.requested, "detail": ""}
                for m in members
            ])
            session.commit()

    def unstage_items(self, order_no: str) -> None:
        """Forget the members of an order that was refused before it started."""
        with Session(self.engine) as session:
            session.exec(delete(OrderItem).where(OrderItem.order_no == order_no))
            session.commit()

    def items_page(self, order_no: str, offset: int, limit: int) -> list[OrderItem]:
        with Session(self.engine) as session:
            return list(session.exec(select(OrderItem).where(OrderItem.order_no == order_no)
                                     .order_by(OrderItem.id).offset(offset).limit(limit)))

    def assign_batches(self, order_no: str, size: int) -> list[BatchRef]:
        """Cut the valid members into batches per home province; once cut, the same batches."""
        with Session(self.engine) as session:
            assigned = session.exec(
                select(OrderItem.home_province, OrderItem.batch_no, func.count())
                .where(OrderItem.order_no == order_no, OrderItem.batch_no.is_not(None))
                .group_by(OrderItem.home_province, OrderItem.batch_no)
                .order_by(OrderItem.home_province, OrderItem.batch_no)).all()
            if assigned:
                return [BatchRef(home_province=p, batch_no=n, size=c) for p, n, c in assigned]
            items = session.exec(select(OrderItem).where(
                OrderItem.order_no == order_no, OrderItem.state == ItemState.valid).order_by(OrderItem.id)).all()
            by_province: dict[str, list[OrderItem]] = {}
            for item in items:
                by_province.setdefault(item.home_province, []).append(item)
            batches = []
            for province in sorted(by_province):
                members = by_province[province]
                for batch_no, start in enumerate(range(0, len(members), size), start=1):
                    chunk = members[start:start + size]
                    for item in chunk:
                        item.batch_no = batch_no
                        session.add(item)
                    batches.append(BatchRef(home_province=province, batch_no=batch_no, size=len(chunk)))
            session.commit()
            return batches

    def batch_items(self, order_no: str, home_province: str, batch_no: int, state: str,
                    failed_stage: str | None = None) -> list[OrderItem]:
        query = select(OrderItem).where(
            OrderItem.order_no == order_no, OrderItem.home_province == home_province,
            OrderItem.batch_no == batch_no, OrderItem.state == state).order_by(OrderItem.id)
        if failed_stage is not None:
            query = query.where(OrderItem.failed_stage == failed_stage)
        with Session(self.engine) as session:
            return list(session.exec(query))

    def record_results(
        self, order_no: str, results: dict[str, tuple[str, str | None, str]], *,
        ok_state: str | None = None, stage: str = "", homes: dict[str, str] | None = None,
    ) -> None:
        """Write per-member results: msisdn → (state, code, detail). Members that end
        `failed` remember at which stage; `homes` sets home provinces (verification)."""
        with Session(self.engine) as session:
            items = session.exec(select(OrderItem).where(
                OrderItem.order_no == order_no, OrderItem.msisdn.in_(list(results)))).all()
            for item in items:
                state, code, detail = results[item.msisdn]
                item.state, item.code, item.detail = state, code, detail
                item.failed_stage = stage if state == ItemState.failed else None
                if homes and item.msisdn in homes:
                    item.home_province = homes[item.msisdn]
                session.add(item)
            session.commit()

    def fail_batch(self, order_no: str, home_province: str, batch_no: int, from_state: str,
                   stage: str, code: str, detail: str) -> int:
        """A province-wide failure: every member of the batch still in `from_state` fails."""
        with Session(self.engine) as session:
            result = session.exec(update(OrderItem).where(
                OrderItem.order_no == order_no, OrderItem.home_province == home_province,
                OrderItem.batch_no == batch_no, OrderItem.state == from_state,
            ).values(state=ItemState.failed, failed_stage=stage, code=code, detail=detail))
            session.commit()
            return result.rowcount

    def item_counts(self, order_no: str) -> MemberCounts:
        with Session(self.engine) as session:
            rows = session.exec(select(OrderItem.state, func.count()).where(OrderItem.order_no == order_no)
                                .group_by(OrderItem.state)).all()
        by_state = dict(rows)
        return MemberCounts(requested=sum(by_state.values()), done=by_state.get(ItemState.done, 0),
                            invalid=by_state.get(ItemState.invalid, 0), failed=by_state.get(ItemState.failed, 0))

    def finish_members(self, order_no: str, service_id: str, kind: str) -> None:
        """Members whose items reached `home_done` are done: joined members become `active`
        members of the service, exited ones `exited`."""
        with Session(self.engine) as session:
            items = session.exec(select(OrderItem).where(
                OrderItem.order_no == order_no, OrderItem.state == ItemState.home_done)).all()
            msisdns = [item.msisdn for item in items]
            existing = {m.msisdn: m for m in session.exec(select(Member).where(
                Member.service_id == service_id, Member.msisdn.in_(msisdns)))}
            for item in items:
                member = existing.get(item.msisdn) or Member(service_id=service_id, msisdn=item.msisdn)
                member.home_province, member.name = item.home_province, item.name or member.name
                member.state = "active" if kind == "join" else "exited"
                session.add(member)
                item.state = ItemState.done
                session.add(item)
            session.commit()

    def member_results(self, order_no: str, state: str | None = None) -> list[MemberResult]:
        query = select(OrderItem).where(OrderItem.order_no == order_no).order_by(OrderItem.id)
        if state:
            query = query.where(OrderItem.state == state)
        with Session(self.engine) as session:
            return [MemberResult(**item.model_dump()) for item in session.exec(query)]

    # Customer information sync

    def apply_customer_change(self, change: CustomerChange) -> str:
        """Apply one province's changed record of a customer to the stored customer and its hierarchy; return what changed, in one line.

        A branch record adds or renames the province's branch; a deleted one removes it; the
        group-level record renames the customer, sets its credit code and the group's province.
        Raises LookupError when the customer was never acquired. Idempotent."""
        with Session(self.engine) as session:
            customer = session.get(GroupCustomer, change.customer_code, with_for_update=True)
            if customer is None:
                raise LookupError(f"customer {change.customer_code} is not in GPMS: "
                                  f"run `vpdn customer acquire {change.customer_code}` first")
            units = {unit.province: unit for unit in session.exec(
                select(CustomerUnit).where(CustomerUnit.customer_code == change.customer_code))}
            group = units.pop(customer.group_province)
            branch = units.get(change.province)
            in_group_province = change.province == customer.group_province
            if in_group_province and change.deleted:
                return f"{change.province} no longer holds the group record: the customer stays in GPMS"
            if in_group_province and change.level == "branch":
                return f"{change.province} holds the group record: a branch record there is not applied"
            if change.deleted:
                if branch is None:
                    return f"{change.province} had no branch: nothing to remove"
                session.delete(branch)
                done = f"branch {change.province} removed"
            elif change.level == "group":
                if branch is not None:  # the group moves to a province that held a branch
                    session.delete(branch)
                    session.flush()
                customer.name = group.name = change.name
                customer.credit_code = change.credit_code or customer.credit_code
                customer.group_province = group.province = change.province
                session.add(group)
                done = f"group in {change.province}: {change.name} ({customer.credit_code})"
            else:
                done = f"branch {change.province} {'updated' if branch else 'added'}: {change.name}"
                branch = branch or CustomerUnit(customer_code=change.customer_code, province=change.province,
                                                level="branch", parent_id=group.id)
                branch.name = change.name
                session.add(branch)
            customer.updated_at = utcnow()
            session.add(customer)
            session.commit()
            return done

    # Fallout

    def open_fallout(self, fallout: Fallout) -> None:
        """Record a fallout (idempotent by its id)."""
        with Session(self.engine) as session:
            if session.get(FalloutRecord, fallout.fallout_id) is None:
                session.add(FalloutRecord(**fallout.model_dump()))
                session.commit()

    def resolve_fallout(self, decision: FalloutDecision) -> None:
        with Session(self.engine) as session:
            record = session.get(FalloutRecord, decision.fallout_id, with_for_update=True)
            if record is None or record.state == "resolved":
                return
            record.state, record.decision = "resolved", decision.action
            record.decided_by, record.reason = decision.by, decision.reason
            session.add(record)
            session.commit()

    def list_fallouts(self, *, province: str | None = None, system: str | None = None,
                      state: str | None = "open") -> list[FalloutView]:
        """The worklist: fallouts oldest first, filtered."""
        query = select(FalloutRecord).order_by(FalloutRecord.created_at, FalloutRecord.fallout_id)
        for column, value in ((FalloutRecord.province, province), (FalloutRecord.system, system),
                              (FalloutRecord.state, state)):
            if value:
                query = query.where(column == value)
        with Session(self.engine) as session:
            return [FalloutView(**record.model_dump()) for record in session.exec(query)]

    def get_fallout(self, fallout_id: str) -> FalloutView | None:
        with Session(self.engine) as session:
            record = session.get(FalloutRecord, fallout_id)
            return FalloutView(**record.model_dump()) if record else None
