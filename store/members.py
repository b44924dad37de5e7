"""Members (成员) of the services, and member orders' items with their per-member results.

Set-based: a state change of many members is one statement over the order's items
(`… WHERE order_no = … AND batch …`, `INSERT … SELECT`); per-member results are written by
key in pages; no statement binds one parameter per member (PostgreSQL takes at most
65 535), and reads fetch only the columns a step needs.
"""

from collections.abc import Iterable, Iterator
from typing import TypeVar

from sqlalchemy import Engine, String, bindparam, func, literal, select, update

from models.members import BatchRef, ItemState, MemberCounts, MemberResult
from store.engine import insert_new
from store.tables import Member, OrderItem

items = OrderItem.__table__
members = Member.__table__
IN_VPDN = ("joining", "active")
PAGE = 1000

T = TypeVar("T")


def pages(rows: Iterable[T], size: int = PAGE) -> Iterator[list[T]]:
    """`rows` a page at a time, without holding more than one page."""
    page: list[T] = []
    for row in rows:
        page.append(row)
        if len(page) == size:
            yield page
            page = []
    if page:
        yield page


def in_vpdn(service_id: str, msisdn) -> object:
    """The condition: `msisdn` is now a member of the service (joining or active)."""
    return (members.c.service_id == service_id) & (members.c.msisdn == msisdn) & members.c.state.in_(IN_VPDN)


class MemberRecords:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def member_count(self, service_id: str) -> int:
        """How many members are now in the VPDN (joining or active)."""
        with self.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(members).where(
                members.c.service_id == service_id, members.c.state.in_(IN_VPDN))).scalar_one()

    def count_by_home(self, service_id: str) -> dict[str, int]:
        """How many members now in the VPDN each home province has."""
        with self.engine.connect() as connection:
            return dict(connection.execute(
                select(members.c.home_province, func.count()).where(
                    members.c.service_id == service_id, members.c.state.in_(IN_VPDN))
                .group_by(members.c.home_province).order_by(members.c.home_province)).all())

    def member_homes(self, service_id: str) -> dict[str, str]:
        """The service's members now in the VPDN (joining or active), with their home province."""
        with self.engine.connect() as connection:
            return dict(connection.execute(select(members.c.msisdn, members.c.home_province).where(
                members.c.service_id == service_id, members.c.state.in_(IN_VPDN))).all())

    def service_of_member(self, msisdn: str) -> str | None:
        """The VPDN service a number is now a member of, if any."""
        with self.engine.connect() as connection:
            return connection.execute(select(members.c.service_id).where(
                members.c.msisdn == msisdn, members.c.state.in_(IN_VPDN))).scalars().first()

    def active_member_home(self, service_id: str, msisdn: str) -> str | None:
        """The home province of an active member of the service (None: not an active member)."""
        with self.engine.connect() as connection:
            return connection.execute(select(members.c.home_province).where(
                members.c.service_id == service_id, members.c.msisdn == msisdn,
                members.c.state == "active")).scalars().first()

    def page_numbers(self, order_no: str, offset: int, limit: int) -> list[str]:
        """One page of an order's members' numbers, in the order they were staged."""
        with self.engine.connect() as connection:
            return list(connection.execute(select(items.c.msisdn).where(items.c.order_no == order_no)
                                           .order_by(items.c.id).offset(offset).limit(limit)).scalars())

    def assign_batches(self, order_no: str, size: int) -> list[BatchRef]:
        """Cut the valid members into batches per home province, in staging order (one
        statement); once cut, the same batches."""
        counted = (select(items.c.home_province, items.c.batch_no, func.count())
                   .where(items.c.order_no == order_no, items.c.batch_no.is_not(None))
                   .group_by(items.c.home_province, items.c.batch_no)
                   .order_by(items.c.home_province, items.c.batch_no))
        with self.engine.begin() as connection:
            assigned = connection.execute(counted).all()
            if not assigned:
                position = func.row_number().over(partition_by=items.c.home_province, order_by=items.c.id)
                numbered = (select(items.c.id, ((position - 1) // size + 1).label("batch_no"))
                            .where(items.c.order_no == order_no, items.c.state == ItemState.valid).subquery())
                connection.execute(update(items).where(items.c.id == numbered.c.id)
                                   .values(batch_no=numbered.c.batch_no))
                assigned = connection.execute(counted).all()
        return [BatchRef(home_province=p, batch_no=n, size=c) for p, n, c in assigned]

    def batches_once_verified(self, order_no: str, size: int) -> list[BatchRef] | None:
        """Once no member of the order waits for verification, its batches (cut the first
        time, as `assign_batches`); None while some still wait."""
        with self.engine.connect() as connection:
            waiting = connection.execute(select(items.c.id).where(
                items.c.order_no == order_no, items.c.state == ItemState.requested).limit(1)).first()
        return None if waiting else self.assign_batches(order_no, size)

    def record_results(self, order_no: str, results: dict[str, tuple[str, str | None, str]], *,
                       stage: str = "", homes: dict[str, str] | None = None) -> None:
        """Write per-member results by key, a page at a time: msisdn → (state, code, detail).
        Members that end `failed` remember at which stage; `homes` sets home provinces
        (verification)."""
        statement = update(items).where(
            items.c.order_no == order_no, items.c.msisdn == bindparam("key")).values(
            state=bindparam("new_state"), code=bindparam("new_code"), detail=bindparam("new_detail"),
            failed_stage=bindparam("new_stage", type_=String),
            home_province=func.coalesce(bindparam("new_home", type_=String), items.c.home_province))
        homes = homes or {}
        rows = ({"key": msisdn, "new_state": state, "new_code": code, "new_detail": detail,
                 "new_stage": stage if state == ItemState.failed else None, "new_home": homes.get(msisdn)}
                for msisdn, (state, code, detail) in results.items())
        with self.engine.begin() as connection:
            for page in pages(rows):
                connection.execute(statement, page)

    def fail_batch(self, order_no: str, home_province: str, batch_no: int, from_state: str,
                   stage: str, code: str, detail: str) -> int:
        """A province-wide failure: every member of the batch still in `from_state` fails."""
        with self.engine.begin() as connection:
            return connection.execute(update(items).where(
                items.c.order_no == order_no, items.c.home_province == home_province,
                items.c.batch_no == batch_no, items.c.state == from_state,
            ).values(state=ItemState.failed, failed_stage=stage, code=code, detail=detail)).rowcount

    def item_counts(self, order_no: str) -> MemberCounts:
        with self.engine.connect() as connection:
            by_state = dict(connection.execute(select(items.c.state, func.count())
                                               .where(items.c.order_no == order_no)
                                               .group_by(items.c.state)).all())
        return MemberCounts(requested=sum(by_state.values()), home_done=by_state.get(ItemState.home_done, 0),
                            done=by_state.get(ItemState.done, 0),
                            invalid=by_state.get(ItemState.invalid, 0), failed=by_state.get(ItemState.failed, 0))

    def finish_members(self, order_no: str, service_id: str, kind: str) -> None:
        """Members whose items reached `home_done` are done: joined members become `active`
        members of the service, exited ones `exited`. One transaction of set-based
        statements; a repeat finds nothing left to do."""
        finished = select(items.c.msisdn).where(items.c.order_no == order_no, items.c.state == ItemState.home_done)
        leaving = update(members).where(members.c.service_id == service_id, members.c.msisdn.in_(finished))
        with self.engine.begin() as connection:
            if kind == "join":
                def item(column):  # the member's item in this order
                    return select(column).where(items.c.order_no == order_no,
                                                items.c.msisdn == members.c.msisdn).scalar_subquery()
                connection.execute(leaving.values(
                    state="active", home_province=item(items.c.home_province),
                    name=func.coalesce(func.nullif(item(items.c.name), ""), members.c.name)))
                connection.execute(insert_new(self.engine, members).from_select(
                    ["service_id", "msisdn", "home_province", "name", "state"],
                    select(literal(service_id), items.c.msisdn, items.c.home_province, items.c.name,
                           literal("active")).where(items.c.order_no == order_no,
                                                    items.c.state == ItemState.home_done)))
            else:
                connection.execute(leaving.values(state="exited"))
            connection.execute(update(items).where(items.c.order_no == order_no,
                                                   items.c.state == ItemState.home_done).values(state=ItemState.done))

    def member_results(self, order_no: str, state: str | None = None) -> list[MemberResult]:
        query = (select(items.c.msisdn, items.c.name, items.c.home_province, items.c.state, items.c.code,
                        items.c.detail).where(items.c.order_no == order_no).order_by(items.c.id))
        if state:
            query = query.where(items.c.state == state)
        with self.engine.connect() as connection:
            return [MemberResult(**row._mapping) for row in connection.execute(query)]
