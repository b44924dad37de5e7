"""The acceptance basic information table (VPDN业务受理基础信息表): compiled from the order
store — the service, its customer and contract, the members with their terms, the order's
items and the completion reports its provinces sent — and kept with the order when it ends."""

from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import Engine, Select, and_, insert
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from models.acceptance import AcceptanceTable, MemberRow, ProvinceRow, TableRequest
from models.members import ItemState
from models.plans import STANDARD, MemberPlan
from store.customers import CustomerRecords
from store.member_terms import MemberTermRecords
from store.services import ServiceRecords
from store.tables import AcceptanceMemberRow, AcceptanceTableRecord, Member, MemberTerms, Order, OrderItem, utcnow


# Members compiled into a kept table per statement.
TABLE_PAGE = 5000
order_items, member_terms, member_rows = OrderItem.__table__, MemberTerms.__table__, AcceptanceMemberRow.__table__


class AcceptanceRecords:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._services = ServiceRecords(engine)
        self._customers = CustomerRecords(engine)
        self._terms = MemberTermRecords(engine)

    def service_table(self, service_id: str) -> AcceptanceTable | None:
        """The table of a service as it stands: its members now in the VPDN, with their terms."""
        service = self._service_section(service_id)
        if service is None:
            return None
        tally = _Tally()
        with Session(self.engine) as session:
            members = session.exec(select(Member, MemberTerms).outerjoin(MemberTerms, and_(
                MemberTerms.service_id == Member.service_id, MemberTerms.msisdn == Member.msisdn)).where(
                Member.service_id == service_id, Member.state.in_(["joining", "active"])).order_by(Member.msisdn))
            rows = [tally.add(self._row(m.msisdn, m.name, m.home_province, m.state, terms, in_vpdn=True))
                    for m, terms in members]
        return AcceptanceTable(service=service, members=rows, compiled_at=utcnow(),
                               provinces=tally.provinces(service, {}))

    def keep_order_table(self, request: TableRequest) -> None:
        """Compile the table of an order that ended and keep it with the order, a page of
        members at a time (memory stays flat whatever the order's size). Idempotent."""
        service = self._service_section(request.service_id)
        with Session(self.engine) as session:
            if session.get(AcceptanceTableRecord, request.order_no) or service is None:
                return
            order = session.get(Order, request.order_no)
            service |= {"order_no": request.order_no, "order_type": order.order_type if order else "",
                        "order_state": request.order_state}
            home_reports = {(r.home_province, r.batch_no): r.reported_on for r in request.batch_reports
                            if r.from_home_crm}
            record = AcceptanceTableRecord(order_no=request.order_no, service_id=request.service_id, content={})
            session.add(record)
            session.flush()
            tally, after, connection = _Tally(), 0, session.connection()
            while page := connection.execute(_order_members(request, after)).all():
                rows = []
                for item in page:
                    row = self._row(item.msisdn, item.name, item.home_province, item.state,
                                    item if item.terms_id is not None else None)
                    row.reported_on = home_reports.get((item.home_province, item.batch_no))
                    row.note = " ".join(part for part in (item.code, item.detail) if part)
                    rows.append({"order_no": request.order_no, **tally.add(row).model_dump()})
                connection.execute(insert(member_rows), rows)
                after = page[-1].id
            reported: dict[str, list[str]] = defaultdict(list)
            for report in [*request.batch_reports, *request.province_reports]:
                reported[report.province].append(report.reported_on)
            record.content = {"service": service,
                              "provinces": [p.model_dump() for p in tally.provinces(service, reported)]}
            session.commit()

    def order_table(self, order_no: str) -> AcceptanceTable | None:
        """The table kept with an order, or None when none was compiled."""
        with Session(self.engine) as session:
            kept = session.get(AcceptanceTableRecord, order_no)
            if kept is None:
                return None
            rows = session.exec(select(AcceptanceMemberRow).where(AcceptanceMemberRow.order_no == order_no)
                                .order_by(AcceptanceMemberRow.id)).all()
            return AcceptanceTable(service=kept.content["service"], compiled_at=kept.compiled_at,
                                   provinces=[ProvinceRow(**p) for p in kept.content["provinces"]],
                                   members=[MemberRow(**row.model_dump(exclude={"id", "order_no"})) for row in rows])

    def _service_section(self, service_id: str) -> dict[str, str] | None:
        service = self._services.get_service(service_id)
        if service is None:
            return None
        customer = self._customers.get_customer(service.customer_code)
        contract = service.contract.contract if service.contract else None
        line = service.line
        return {
            "compiled_at": utcnow().strftime("%Y-%m-%d %H:%M:%S"),
            "customer_code": service.customer_code, "customer_name": customer.name if customer else "",
            "service_id": service.service_id, "service_state": service.state,
            "contract_number": contract.number if contract else "",
            "contract_signed_on": contract.signed_on.isoformat() if contract else "",
            "contract_signed_by": contract.signed_by if contract else "",
            "tariff_reference": contract.tariff_reference if contract else "",
            "apn": service.apn, "access_province": service.access_province,
            "related_provinces": " ".join(service.provinces),
            "line": f"{line.bandwidth_mbps} Mbit/s, {line.address}" if line else "",
            "tariff_version": str(service.tariff_version),
            "tariff_parameters": "; ".join(f"{k}={v}" for k, v in sorted(service.tariff.parameters.items())),
            "discounts": "; ".join(f"{k}={v}" for k, v in sorted(service.tariff.discounts.items())),
            "rental_start": service.rental_start or "", "paying_province": service.paying_province,
        }

    @staticmethod
    def _row(msisdn: str, name: str, home: str | None, state: str, terms: Any, in_vpdn: bool = False) -> MemberRow:
        """A member's row from its terms (a record, or a row with their columns; None: none
        recorded); a member in the VPDN without recorded terms is on the standard plan."""
        plan = STANDARD if in_vpdn else ""
        if terms is not None:
            plan = STANDARD if terms.plan_version is None else str(MemberPlan(
                name=terms.plan_name, tariff_version=terms.plan_version, parameters=terms.plan_parameters))
            plan += f" from {terms.plan_from}" if terms.plan_from else ""
        return MemberRow(msisdn=msisdn, name=name, home_province=home, state=state, plan=plan,
                         opened_on=terms.opened_on if terms else None, rental_from=terms.rental_from if terms else None,
                         reported_on=terms.reported_on if terms else None)


def _order_members(request: TableRequest, after: int) -> Select:
    """A page of the order's items after item `after`, each with its member's terms (columns
    only, no ORM objects: a 100 000-member order is compiled in seconds, not tens of them)."""
    item, held = order_items.c, member_terms.c
    return (sa_select(item.id, item.msisdn, item.name, item.home_province, item.state, item.batch_no, item.code,
                      item.detail, held.id.label("terms_id"), held.plan_name, held.plan_version, held.plan_parameters,
                      held.plan_from, held.opened_on, held.rental_from, held.reported_on)
            .select_from(order_items.outerjoin(member_terms, and_(held.service_id == request.service_id,
                                                                  held.msisdn == item.msisdn)))
            .where(item.order_no == request.order_no, item.id > after).order_by(item.id).limit(TABLE_PAGE))


class _Tally:
    """Per home province, the counts of a table's members and their report dates, added a
    row at a time."""

    def __init__(self) -> None:
        self._counts: dict[str, Counter[str]] = {}  # plain counters: a model's validated fields cost per member
        self._dates: dict[str, set[str]] = defaultdict(set)

    def add(self, row: MemberRow) -> MemberRow:
        if row.home_province:
            counts = self._counts.setdefault(row.home_province, Counter())
            counts["members"] += 1
            counts["done" if row.state == "active" else row.state] += 1
            if row.reported_on:
                self._dates[row.home_province].add(row.reported_on)
        return row

    def provinces(self, service: dict[str, str], reported: dict[str, list[str]]) -> list[ProvinceRow]:
        """Per province its roles, its members' counts and its completion report dates."""
        access, related = service["access_province"], service["related_provinces"].split()
        rows = []
        for code in sorted({access, *related, *reported, *self._counts}):
            roles = [role for role, holds in (("access", code == access), ("related", code in related),
                                              ("home", code in self._counts)) if holds]
            dates = sorted(reported.get(code, []) + ([] if reported else list(self._dates[code])))
            counts = self._counts.get(code, Counter())
            rows.append(ProvinceRow(
                province=code, role=" ".join(roles) or "reporting", members=counts["members"],
                done=counts[ItemState.done], failed=counts[ItemState.failed], invalid=counts[ItemState.invalid],
                first_report=dates[0] if dates else None, last_report=dates[-1] if dates else None))
        return rows
