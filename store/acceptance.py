"""The acceptance basic information table (VPDN业务受理基础信息表): compiled from the order
store — the service, its customer and contract, the members with their terms, the order's
items and the completion reports its provinces sent — and kept with the order when it ends."""

from collections import defaultdict

from sqlalchemy import Engine, insert
from sqlmodel import Session, select

from models.acceptance import AcceptanceTable, MemberRow, ProvinceRow, TableRequest
from models.members import ItemState
from models.plans import STANDARD, MemberPlan
from store.customers import CustomerRecords
from store.member_terms import MemberTermRecords
from store.services import ServiceRecords
from store.tables import AcceptanceMemberRow, AcceptanceTableRecord, Member, MemberTerms, Order, OrderItem, utcnow


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
        with Session(self.engine) as session:
            members = session.exec(select(Member).where(
                Member.service_id == service_id, Member.state.in_(["joining", "active"])).order_by(Member.msisdn)).all()
            rows = [self._row(m.msisdn, m.name, m.home_province, m.state, terms, in_vpdn=True)
                    for m, terms in zip(members, self._terms_of(session, service_id, [m.msisdn for m in members]))]
        return AcceptanceTable(service=service, members=rows, compiled_at=utcnow(),
                               provinces=self._provinces(service, rows, {}))

    def keep_order_table(self, request: TableRequest) -> None:
        """Compile the table of an order that ended and keep it with the order. Idempotent."""
        service = self._service_section(request.service_id)
        with Session(self.engine) as session:
            if session.get(AcceptanceTableRecord, request.order_no) or service is None:
                return
            order = session.get(Order, request.order_no)
            service |= {"order_no": request.order_no, "order_type": order.order_type if order else "",
                        "order_state": request.order_state}
            home_reports = {(r.home_province, r.batch_no): r.reported_on for r in request.batch_reports
                            if r.from_home_crm}
            items = session.exec(select(OrderItem).where(OrderItem.order_no == request.order_no)
                                 .order_by(OrderItem.id)).all()
            terms = self._terms_of(session, request.service_id, [i.msisdn for i in items])
            rows = []
            for item, term in zip(items, terms):
                row = self._row(item.msisdn, item.name, item.home_province, item.state, term)
                row.reported_on = home_reports.get((item.home_province, item.batch_no))
                row.note = " ".join(part for part in (item.code, item.detail) if part)
                rows.append(row)
            reported: dict[str, list[str]] = defaultdict(list)
            for report in [*request.batch_reports, *request.province_reports]:
                reported[report.province].append(report.reported_on)
            provinces = self._provinces(service, rows, reported)
            session.add(AcceptanceTableRecord(order_no=request.order_no, service_id=request.service_id, content={
                "service": service, "provinces": [p.model_dump() for p in provinces]}))
            session.flush()
            if rows:
                session.execute(insert(AcceptanceMemberRow),
                                [{"order_no": request.order_no, **row.model_dump()} for row in rows])
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
    def _terms_of(session: Session, service_id: str, msisdns: list[str]) -> list[MemberTerms | None]:
        """Each member's terms, in the order given (None for a member without)."""
        found: dict[str, MemberTerms] = {}
        for start in range(0, len(msisdns), 5000):  # bounded IN lists
            found |= {t.msisdn: t for t in session.exec(select(MemberTerms).where(
                MemberTerms.service_id == service_id, MemberTerms.msisdn.in_(msisdns[start:start + 5000])))}
        return [found.get(m) for m in msisdns]

    @staticmethod
    def _row(msisdn: str, name: str, home: str | None, state: str, terms: MemberTerms | None,
             in_vpdn: bool = False) -> MemberRow:
        """A member's row; a member in the VPDN without recorded terms is on the standard plan."""
        plan = STANDARD if in_vpdn else ""
        if terms is not None:
            plan = STANDARD if terms.plan_version is None else str(MemberPlan(
                name=terms.plan_name, tariff_version=terms.plan_version, parameters=terms.plan_parameters))
            plan += f" from {terms.plan_from}" if terms.plan_from else ""
        return MemberRow(msisdn=msisdn, name=name, home_province=home, state=state, plan=plan,
                         opened_on=terms.opened_on if terms else None, rental_from=terms.rental_from if terms else None,
                         reported_on=terms.reported_on if terms else None)

    @staticmethod
    def _provinces(service: dict[str, str], rows: list[MemberRow], reported: dict[str, list[str]]) -> list[ProvinceRow]:
        """Per province its roles, its members' counts and its completion report dates."""
        access, related = service["access_province"], service["related_provinces"].split()
        by_province: dict[str, ProvinceRow] = {}
        for code in sorted({access, *related, *reported, *(r.home_province for r in rows if r.home_province)}):
            roles = [role for role, holds in (("access", code == access), ("related", code in related),
                                              ("home", any(r.home_province == code for r in rows))) if holds]
            dates = sorted(reported.get(code, []) + [r.reported_on for r in rows
                                                     if r.home_province == code and r.reported_on and not reported])
            by_province[code] = ProvinceRow(province=code, role=" ".join(roles) or "reporting",
                                            first_report=dates[0] if dates else None,
                                            last_report=dates[-1] if dates else None)
        for row in rows:
            if row.home_province in by_province:
                counts = by_province[row.home_province]
                counts.members += 1
                counts.done += row.state in (ItemState.done, "active")
                counts.failed += row.state == ItemState.failed
                counts.invalid += row.state == ItemState.invalid
        return list(by_province.values())
