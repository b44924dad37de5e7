"""The terms each member is on in its VPDN: its member plan (成员套餐) and the dates its home
province reported (opened on, rental from, latest completion report). Written set-based
from the order's items when a member order ends; a member without a row is on the standard
plan and joined before these were recorded."""

from sqlalchemy import JSON, Engine, delete, literal, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from models.members import BatchReport, ItemState
from models.plans import STANDARD, MemberPlan, MemberTermsView
from store.engine import insert_new
from store.members import IN_VPDN
from store.services import OPEN_STATES
from store.tables import BatchStepMember, Member, MemberTerms, OrderItem, VpdnService


def _plan(name: str | None, version: int | None, parameters: dict | None) -> MemberPlan | None:
    """A recorded plan; None for the standard plan (or no record)."""
    if version is None or (name == STANDARD and not parameters):
        return None
    return MemberPlan(name=name, tariff_version=version, parameters=parameters)


class MemberTermRecords:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def plans(self, service_id: str) -> dict[str, MemberPlan]:
        """The recorded plans of a service's members (those on the standard plan are absent)."""
        query = select(MemberTerms.msisdn, MemberTerms.plan_name, MemberTerms.plan_version,
                       MemberTerms.plan_parameters).where(
            MemberTerms.service_id == service_id, MemberTerms.plan_version.is_not(None))
        with Session(self.engine) as session:
            return {msisdn: plan for msisdn, name, version, parameters in session.exec(query)
                    if (plan := _plan(name, version, parameters))}

    def members_page(self, *, home: str | None = None, access: str | None = None, after: str = "",
                     limit: int = 1000) -> list[tuple[str, str, MemberPlan | None]]:
        """A page of the members now in the VPDN of an open service — those whose home
        province is `home`, or whose service's access province is `access` — by number (byte
        order) after `after`: (number, service, recorded plan or None for the standard)."""
        msisdn = Member.msisdn.collate("C" if self.engine.dialect.name == "postgresql" else "BINARY")
        query = (sa_select(Member.msisdn, Member.service_id, MemberTerms.plan_name, MemberTerms.plan_version,
                           MemberTerms.plan_parameters)
                 .join(VpdnService, VpdnService.service_id == Member.service_id)
                 .outerjoin(MemberTerms, (MemberTerms.service_id == Member.service_id)
                            & (MemberTerms.msisdn == Member.msisdn))
                 .where(Member.state.in_(IN_VPDN), VpdnService.state.in_(OPEN_STATES),
                        msisdn > after)
                 .order_by(msisdn).limit(limit))
        query = query.where(Member.home_province == home) if home else query.where(VpdnService.access_province == access)
        with Session(self.engine) as session:
            return [(number, service_id, _plan(name, version, parameters))
                    for number, service_id, name, version, parameters in session.execute(query)]

    def step_plans(self, service_id: str, step_key: str) -> dict[str, tuple[MemberPlan | None, str | None]]:
        """Each member of a batch step (its fixed set) with its recorded plan and the date
        that plan applies from (None, None: the standard plan). One query, by join."""
        query = (sa_select(BatchStepMember.msisdn, MemberTerms.plan_name, MemberTerms.plan_version,
                           MemberTerms.plan_parameters, MemberTerms.plan_from)
                 .select_from(BatchStepMember)
                 .outerjoin(MemberTerms, (MemberTerms.service_id == service_id)
                            & (MemberTerms.msisdn == BatchStepMember.msisdn))
                 .where(BatchStepMember.step_key == step_key).order_by(BatchStepMember.id))
        with Session(self.engine) as session:
            rows = session.execute(query).all()
        plans = {}
        for msisdn, name, version, parameters, plan_from in rows:
            plan = _plan(name, version, parameters)
            plans[msisdn] = (plan, plan_from if plan else None)
        return plans

    def staged_on_plan(self, order_no: str, service_id: str, plan: MemberPlan, shown: int = 10) -> tuple[int, list[str]]:
        """The members staged for an order that are already on `plan`, counted, and the first
        `shown` of them (a plan change that would change nothing for them)."""
        query = (sa_select(OrderItem.msisdn, MemberTerms.plan_name, MemberTerms.plan_version,
                           MemberTerms.plan_parameters)
                 .select_from(OrderItem)
                 .outerjoin(MemberTerms, (MemberTerms.service_id == service_id)
                            & (MemberTerms.msisdn == OrderItem.msisdn))
                 .where(OrderItem.order_no == order_no).order_by(OrderItem.id))
        if plan.name != STANDARD:  # only those recorded on a plan of that name can be on it
            query = query.where(MemberTerms.plan_name == plan.name, MemberTerms.plan_version == plan.tariff_version)
        count, first = 0, []
        with Session(self.engine) as session:
            for msisdn, name, version, parameters in session.execute(query):
                if plan.same_as(_plan(name, version, parameters)):
                    count += 1
                    if len(first) < shown:
                        first.append(msisdn)
        return count, first

    def terms(self, service_id: str) -> dict[str, MemberTermsView]:
        """Every recorded member's terms."""
        with Session(self.engine) as session:
            return {row.msisdn: MemberTermsView(**row.model_dump()) for row in session.exec(
                select(MemberTerms).where(MemberTerms.service_id == service_id))}

    def record_plan_change(self, order_no: str, service_id: str, plan: MemberPlan, plan_from: str,
                           reports: list[BatchReport]) -> None:
        """The members whose plan changed in their home province (`home_done`) are on `plan`
        from `plan_from`, and done. One transaction; a repeat finds none left to move."""
        with Session(self.engine) as session:
            moved = sa_select(OrderItem.msisdn).where(OrderItem.order_no == order_no,
                                                      OrderItem.state == ItemState.home_done)
            self._ensure_rows(session, service_id, order_no, ItemState.home_done)
            session.exec(update(MemberTerms).where(
                MemberTerms.service_id == service_id, MemberTerms.msisdn.in_(moved)).values(
                plan_name=plan.name, plan_version=plan.tariff_version, plan_parameters=plan.parameters,
                plan_from=plan_from, order_no=order_no))
            self._set_report_dates(session, order_no, service_id, reports, ItemState.home_done, opening=False)
            session.exec(update(OrderItem).where(OrderItem.order_no == order_no,
                                                 OrderItem.state == ItemState.home_done).values(state=ItemState.done))
            session.commit()

    def record_joined(self, order_no: str, service_id: str, reports: list[BatchReport]) -> None:
        """Members that joined start on the standard plan, with the dates their home CRM
        reported (opened on, rental from). Call once their items are `done`."""
        with Session(self.engine) as session:
            joined = sa_select(OrderItem.msisdn).where(OrderItem.order_no == order_no,
                                                       OrderItem.state == ItemState.done)
            self._ensure_rows(session, service_id, order_no, ItemState.done)
            session.exec(update(MemberTerms).where(
                MemberTerms.service_id == service_id, MemberTerms.msisdn.in_(joined)).values(
                plan_name=STANDARD, plan_version=None, plan_parameters={}, plan_from=None, opened_on=None,
                rental_from=None, reported_on=None, order_no=order_no))
            self._set_report_dates(session, order_no, service_id, reports, ItemState.done, opening=True)
            session.commit()

    def accept_plan(self, service_id: str, msisdn: str, plan: MemberPlan | None, plan_from: str | None,
                    source: str) -> None:
        """GPMS takes the plan the member's home billing holds (None: the standard plan), for
        `source` (a reconciliation difference accepted). Safe to repeat."""
        with Session(self.engine) as session:
            row = session.exec(select(MemberTerms).where(MemberTerms.service_id == service_id,
                                                         MemberTerms.msisdn == msisdn)).first()
            row = row or MemberTerms(service_id=service_id, msisdn=msisdn)
            row.plan_name, row.plan_version = (plan.name, plan.tariff_version) if plan else (STANDARD, None)
            row.plan_parameters, row.plan_from = (plan.parameters, plan_from) if plan else ({}, None)
            row.order_no = source
            session.add(row)
            session.commit()

    def forget_exited(self, order_no: str, service_id: str) -> None:
        """Members that left end their terms."""
        with Session(self.engine) as session:
            session.exec(delete(MemberTerms).where(MemberTerms.service_id == service_id, MemberTerms.msisdn.in_(
                sa_select(OrderItem.msisdn).where(OrderItem.order_no == order_no,
                                                  OrderItem.state == ItemState.done))))
            session.commit()

    def _ensure_rows(self, session: Session, service_id: str, order_no: str, state: str) -> None:
        """A terms row for each of the order's members in `state` that has none (one INSERT … SELECT)."""
        members = sa_select(
            literal(service_id), OrderItem.msisdn, literal(STANDARD), literal({}, JSON), literal(order_no),
        ).where(OrderItem.order_no == order_no, OrderItem.state == state)
        session.exec(insert_new(self.engine, MemberTerms).from_select(
            ["service_id", "msisdn", "plan_name", "plan_parameters", "order_no"], members))

    @staticmethod
    def _set_report_dates(session: Session, order_no: str, service_id: str, reports: list[BatchReport],
                          state: str, opening: bool) -> None:
        """Per batch, the date its home CRM reported; for an opening also opened on and rental from."""
        for report in reports:
            if not report.from_home_crm:
                continue
            batch = sa_select(OrderItem.msisdn).where(
                OrderItem.order_no == order_no, OrderItem.home_province == report.home_province,
                OrderItem.batch_no == report.batch_no, OrderItem.state == state)
            values = {"reported_on": report.reported_on}
            if opening:
                values |= {"opened_on": report.reported_on, "rental_from": report.effective_from or None}
            session.exec(update(MemberTerms).where(
                MemberTerms.service_id == service_id, MemberTerms.msisdn.in_(batch)).values(**values))
