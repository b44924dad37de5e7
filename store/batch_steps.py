"""Member batch steps: the members a step acts on, fixed once per step so that a retried
step sends exactly what its first attempt sent (whatever that attempt already changed)."""

from sqlalchemy import Engine, insert, literal, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from store.tables import BatchStep, BatchStepMember, OrderItem


class BatchStepRecords:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def members(self, step_key: str, order_no: str, home_province: str, batch_no: int, state: str,
                failed_stage: str | None = None) -> list[str]:
        """The numbers a batch step acts on. The first time a step asks, they are the batch's
        members in `state` (that failed at `failed_stage`), fixed in one statement; every
        later time, that same set."""
        self._form(step_key, order_no, home_province, batch_no, state, failed_stage)
        with Session(self.engine) as session:
            return list(session.exec(select(BatchStepMember.msisdn).where(BatchStepMember.step_key == step_key)
                                     .order_by(BatchStepMember.id)))

    def _form(self, step_key: str, order_no: str, home_province: str, batch_no: int, state: str,
              failed_stage: str | None) -> None:
        with Session(self.engine) as session:
            if session.get(BatchStep, step_key) is not None:
                return
            items = select(literal(step_key), OrderItem.msisdn).where(
                OrderItem.order_no == order_no, OrderItem.home_province == home_province,
                OrderItem.batch_no == batch_no, OrderItem.state == state).order_by(OrderItem.id)
            if failed_stage is not None:
                items = items.where(OrderItem.failed_stage == failed_stage)
            session.add(BatchStep(step_key=step_key))
            session.flush()
            session.execute(insert(BatchStepMember).from_select(["step_key", "msisdn"], items))
            try:
                session.commit()
            except IntegrityError:
                session.rollback()  # formed by a concurrent attempt: its set stands

    def advance(self, step_key: str, order_no: str, home_province: str, batch_no: int, from_state: str,
                to_state: str) -> int:
        """The step's members still in `from_state` move to `to_state`: one statement over
        the set fixed for the step, within its batch (so it reads the batch, not the order).
        Returns how many moved (none on a repeat)."""
        fixed = select(BatchStepMember.msisdn).where(BatchStepMember.step_key == step_key)
        with Session(self.engine) as session:
            moved = session.execute(update(OrderItem).where(
                OrderItem.order_no == order_no, OrderItem.home_province == home_province,
                OrderItem.batch_no == batch_no, OrderItem.state == from_state, OrderItem.msisdn.in_(fixed),
            ).values(state=to_state).execution_options(synchronize_session=False)).rowcount
            session.commit()
            return moved

