"""Correlation references: what a work order sent to the hub carries so that its completion
report (报竣) finds its way back, without the hub knowing our workflow ids or signal names.

A reference is random (unguessable, meaningless outside GPMS) and kept here under the work
order's idempotency key, so every attempt of the step sends the same one; GPMS's door
resolves it. A stored random token rather than a signed one (HMAC of the workflow id and
key): no secret to configure and share between the workers and the API, nothing of ours
readable in it, and the door knows at once whether the work order was sent and where to.
"""

import secrets

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from models.hub import WorkOrderReference
from store.tables import WorkOrderCorrelation

correlations = WorkOrderCorrelation.__table__
FIELDS = [correlations.c[name] for name in WorkOrderReference.model_fields]


class CorrelationRecords:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def reference(self, work_order: WorkOrderReference) -> str:
        """The work order's reference: a new one the first time, the same one every later time."""
        if (known := self.sent_with(work_order.idempotency_key)) is not None:
            return known
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(correlations).values(
                    **work_order.model_dump(), reference=secrets.token_urlsafe(18)))
        except IntegrityError:
            pass  # a concurrent attempt of the same step stored it: that one stands
        return self.sent_with(work_order.idempotency_key)

    def sent_with(self, idempotency_key: str) -> str | None:
        """The reference the work order with this key was sent with; None if never sent."""
        with self.engine.connect() as connection:
            return connection.execute(select(correlations.c.reference)
                                      .where(correlations.c.idempotency_key == idempotency_key)).scalar()

    def resolve(self, reference: str) -> tuple[WorkOrderReference, str | None] | None:
        """The work order a reference stands for, and the id of the first report delivered
        for it; None for a reference GPMS never sent."""
        with self.engine.connect() as connection:
            row = connection.execute(select(*FIELDS, correlations.c.report_id)
                                     .where(correlations.c.reference == reference)).first()
        if row is None:
            return None
        return WorkOrderReference.model_validate(row._mapping), row.report_id

    def delivered(self, reference: str, report_id: str) -> None:
        """Note the first report delivered to the order for this work order (later ones stay
        the order's to judge)."""
        with self.engine.begin() as connection:
            connection.execute(update(correlations).where(
                correlations.c.reference == reference, correlations.c.report_id.is_(None)).values(report_id=report_id))
