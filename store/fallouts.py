"""Fallouts: orders held because a step failed for good, until a person decides."""

from sqlalchemy import Engine
from sqlmodel import Session, select

from models.fallout import Fallout, FalloutDecision, FalloutView
from store.tables import FalloutRecord


class FalloutRecords:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

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
