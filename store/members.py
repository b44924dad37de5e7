"""Members (成员) of the services, and member orders' items with their per-member results."""

from sqlalchemy import Engine, insert
from sqlmodel import Session, delete, func, select, update

from models.members import BatchRef, ItemState, MemberCounts, MemberLine, MemberResult
from store.tables import Member, OrderItem


class MemberRecords:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def member_count(self, service_id: str) -> int:
        """How many members are now in the VPDN (joining or active)."""
        with Session(self.engine) as session:
            return session.exec(select(func.count()).select_from(Member).where(
                Member.service_id == service_id, Member.state.in_(["joining", "active"]))).one()

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

    def page_numbers(self, order_no: str, offset: int, limit: int) -> list[str]:
        """One page of an order's members' numbers, in the order they were staged."""
        with Session(self.engine) as session:
            return list(session.exec(select(OrderItem.msisdn).where(OrderItem.order_no == order_no)
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
