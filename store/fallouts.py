"""Fallouts: orders held because a step failed for good, and the differences the nightly
reconciliation found between GPMS and a province (kind `reconcile`), until a person decides."""

from sqlalchemy import Engine, insert, update
from sqlmodel import Session, select

from models.fallout import Fallout, FalloutDecision, FalloutView
from models.members import ItemState
from models.orders import TERMINAL_STATES
from store.tables import FalloutRecord, Order, OrderItem

# A difference decided so is not put on the worklist again when found again: the person said so.
STAYS_DECIDED = ("ignore",)


class FalloutRecords:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def open_fallout(self, fallout: Fallout) -> None:
        """Record a fallout (idempotent by its id)."""
        with Session(self.engine) as session:
            if session.get(FalloutRecord, fallout.fallout_id) is None:
                session.add(FalloutRecord(**self._row(fallout)))
                session.commit()

    def record_difference(self, difference: Fallout, province_data: dict) -> bool:
        """Put a reconciliation difference on the worklist, keyed by its id (province, system,
        resource): found again while open, after it was ignored or while its repair order runs,
        it changes nothing (but an open one's allowed decisions, to what they are now); found again after a repair or an acceptance, it opens again. True
        when it is (again) open now."""
        with Session(self.engine) as session:
            record = session.get(FalloutRecord, difference.fallout_id, with_for_update=True)
            repair = session.get(Order, record.order_no) if record is not None and record.order_no else None
            if record is None:
                session.add(FalloutRecord(**self._row(difference), province_data=province_data))
            elif record.state == "open":  # the decisions it allows are today's (a release may add some)
                if record.allowed != difference.allowed:
                    record.allowed = difference.allowed
                    session.add(record)
                    session.commit()
                return False
            elif record.decision in STAYS_DECIDED or (repair is not None and repair.state not in TERMINAL_STATES):
                return False
            else:
                for field, value in self._row(difference).items():
                    setattr(record, field, value)
                record.province_data, record.occurrence = province_data, record.occurrence + 1
                record.state, record.decision, record.decided_by, record.reason = "open", None, None, ""
                session.add(record)
            session.commit()
            return True

    @staticmethod
    def _row(fallout: Fallout) -> dict:
        return fallout.model_dump() | {"order_no": fallout.order_no or None}

    def resolve_fallout(self, decision: FalloutDecision) -> bool:
        """Resolve an open fallout. False when it is not open (decided already)."""
        with Session(self.engine) as session:
            record = session.get(FalloutRecord, decision.fallout_id, with_for_update=True)
            if record is None or record.state == "resolved":
                return False
            record.state, record.decision = "resolved", decision.action
            record.decided_by, record.reason = decision.by, decision.reason
            session.add(record)
            session.commit()
            return True

    def repaired_by(self, fallout_id: str, order_no: str) -> None:
        """A difference resolved by `repair` names its repair order once it is queued."""
        with Session(self.engine) as session:
            session.exec(update(FalloutRecord).where(FalloutRecord.fallout_id == fallout_id).values(order_no=order_no))
            session.commit()

    def reopen(self, decision: FalloutDecision) -> None:
        """Take back a decision that could not be carried out: the fallout is open again (if
        that decision still stands on it)."""
        with Session(self.engine) as session:
            record = session.get(FalloutRecord, decision.fallout_id, with_for_update=True)
            if record is not None and (record.state, record.decision, record.decided_by) == (
                    "resolved", decision.action, decision.by):
                record.state, record.decision, record.decided_by, record.reason = "open", None, None, ""
                session.add(record)
                session.commit()

    def province_data(self, fallout_id: str) -> dict:
        """What the province held when the difference was found, as it holds it."""
        with Session(self.engine) as session:
            record = session.get(FalloutRecord, fallout_id)
            return dict(record.province_data) if record else {}

    def stage_repair(self, order_no: str, fallout_id: str) -> None:
        """The member a repair order acts on: its one order item (batch 1 in the difference's
        province), from the difference's resource; a repeat changes nothing."""
        with Session(self.engine) as session:
            record = session.get(FalloutRecord, fallout_id)
            msisdn = record.resource.split(" ", 1)[1]
            if session.exec(select(OrderItem.id).where(OrderItem.order_no == order_no)).first() is None:
                session.execute(insert(OrderItem).values(
                    order_no=order_no, msisdn=msisdn, name="", home_province=record.province, batch_no=1,
                    state=ItemState.valid, detail=f"repair of {fallout_id}"))
                session.commit()

    def list_fallouts(self, *, province: str | None = None, system: str | None = None,
                      state: str | None = "open", kind: str | None = None) -> list[FalloutView]:
        """The worklist: fallouts oldest first, filtered."""
        query = select(FalloutRecord).order_by(FalloutRecord.created_at, FalloutRecord.fallout_id)
        for column, value in ((FalloutRecord.province, province), (FalloutRecord.system, system),
                              (FalloutRecord.state, state), (FalloutRecord.kind, kind)):
            if value:
                query = query.where(column == value)
        with Session(self.engine) as session:
            return [self._view(record) for record in session.exec(query)]

    def get_fallout(self, fallout_id: str) -> FalloutView | None:
        with Session(self.engine) as session:
            record = session.get(FalloutRecord, fallout_id)
            return self._view(record) if record else None

    @staticmethod
    def _view(record: FalloutRecord) -> FalloutView:
        return FalloutView(**record.model_dump(exclude={"province_data"}) | {"order_no": record.order_no or ""})

