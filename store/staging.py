"""Member staging: a member order's members written before the order is submitted, bound to
its order number and to a digest of its content.

The commit point of a submission is recording the order (`orders.record_order` moves its
staging from `staged` to `submitted` in the same transaction). So the same order number
with other members is refused; a staging nobody submitted (the command was killed between
the two) is an orphan, cleared after a while and never joined by a later order; and only
the submission that staged the members may take them back.
"""

import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from models.members import ItemState, MemberLine
from store.members import in_vpdn, items, members, pages
from store.tables import MemberStaging, utcnow

staging = MemberStaging.__table__


class StagingConflict(Exception):
    """The order number is already bound to other members (submitted, or staged at
    `staged_at` by a submission that may still be running)."""

    def __init__(self, order_no: str, submitted: bool, staged_at: datetime) -> None:
        super().__init__(order_no)
        self.order_no, self.submitted, self.staged_at = order_no, submitted, staged_at


class StagingRecords:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def stage(self, order_no: str, service_id: str, kind: str, lines: Iterable[MemberLine]) -> bool:
        """Stage a member order's members (read once, a page at a time) in one transaction.
        Members of anything but a join are taken as the service's members, valid with their
        home province. True when this call staged them; False when the same members were
        staged before and not submitted yet. Raises StagingConflict for other members, or
        for the same ones already submitted."""
        digest = hashlib.sha256(f"{service_id}\n{kind}\n".encode())
        created = False
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(staging).values(
                    order_no=order_no, service_id=service_id, kind=kind, digest="", member_count=0,
                    state="staged", staged_at=utcnow()))
                created, count = True, 0
                for page in pages(lines):
                    rows = []
                    for line in page:
                        digest.update(f"{line.msisdn},{line.name}\n".encode())
                        rows.append({"order_no": order_no, "msisdn": line.msisdn, "name": line.name,
                                     "state": ItemState.requested, "detail": ""})
                    connection.execute(insert(items), rows)
                    count += len(rows)
                if kind != "join":
                    self._members_are_valid(connection, order_no, service_id)
                connection.execute(update(staging).where(staging.c.order_no == order_no)
                                   .values(digest=digest.hexdigest(), member_count=count))
        except IntegrityError:
            if created:
                raise
            return self._staged_before(order_no, service_id, kind, lines)
        return True

    @staticmethod
    def _members_are_valid(connection, order_no: str, service_id: str) -> None:
        home = select(members.c.home_province).where(in_vpdn(service_id, items.c.msisdn)).scalar_subquery()
        connection.execute(update(items).where(
            items.c.order_no == order_no, exists().where(in_vpdn(service_id, items.c.msisdn)),
        ).values(state=ItemState.valid, home_province=home))

    def _staged_before(self, order_no: str, service_id: str, kind: str, lines: Iterable[MemberLine]) -> bool:
        digest = hashlib.sha256(f"{service_id}\n{kind}\n".encode())
        for line in lines:
            digest.update(f"{line.msisdn},{line.name}\n".encode())
        with self.engine.connect() as connection:
            before = connection.execute(select(staging).where(staging.c.order_no == order_no)).one()
        if before.digest != digest.hexdigest() or before.state != "staged":
            raise StagingConflict(order_no, before.state != "staged", before.staged_at)
        return False

    def refused_members(self, order_no: str, service_id: str, kind: str, shown: int = 10) -> tuple[int, list[str]]:
        """The staged members this order cannot take, counted, and the first `shown` of them:
        for a join those already in the VPDN, otherwise those that are not in it."""
        if kind == "join":
            refused = exists().where(in_vpdn(service_id, items.c.msisdn))
        else:
            refused = items.c.state == ItemState.requested
        condition = (items.c.order_no == order_no) & refused
        with self.engine.connect() as connection:
            count = connection.execute(select(func.count()).select_from(items).where(condition)).scalar_one()
            first = connection.execute(select(items.c.msisdn).where(condition).order_by(items.c.id)
                                       .limit(shown)).scalars().all()
        return count, list(first)

    def discard(self, order_no: str) -> None:
        """Take back a staging that was not submitted (the submission was refused)."""
        self._clear(staging.c.order_no == order_no)

    def clear_orphans(self, older_than: timedelta) -> int:
        """Clear the stagings nobody submitted within `older_than`; how many."""
        return self._clear(staging.c.staged_at < utcnow() - older_than)

    def _clear(self, condition) -> int:
        # The staging rows go first: deleting them locks them, so a submission recording its
        # order at the same moment either claims its staging before (it is kept) or finds
        # it gone (it is refused), never members without their staging.
        with self.engine.begin() as connection:
            cleared = connection.execute(delete(staging).where(condition, staging.c.state == "staged")
                                         .returning(staging.c.order_no)).scalars().all()
            for page in pages(cleared):
                connection.execute(delete(items).where(items.c.order_no.in_(page)))
        return len(cleared)
