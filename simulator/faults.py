"""Faults injected into the simulated provinces: which ones hit a call, and using them up."""

import random

from sqlalchemy import Engine
from sqlmodel import Session, select

from models.hub import FaultSpec
from simulator.db import Fault


def add_fault(engine: Engine, spec: FaultSpec) -> int:
    """Store a fault; it hits matching calls from now on. Returns its id."""
    with Session(engine) as session, session.begin():
        fault = Fault(spec=spec.model_dump(mode="json"), remaining=spec.count)
        session.add(fault)
        session.flush()
        return fault.id


def list_faults(engine: Engine) -> list[dict]:
    """The faults in force, each with its id and the calls it may still hit."""
    with Session(engine) as session:
        faults = session.exec(select(Fault).order_by(Fault.id)).all()
        return [{"id": f.id, "remaining": f.remaining, "spec": f.spec} for f in faults]


def take_faults(engine: Engine, province: str, system: str, operation: str) -> list[FaultSpec]:
    """The faults that hit this call. A fault with a `count` is used up by its hits."""
    hits = []
    with Session(engine) as session, session.begin():
        for fault in session.exec(select(Fault).order_by(Fault.id)):
            spec = FaultSpec.model_validate(fault.spec)
            if not _matches(spec, province, system, operation):
                continue
            if spec.rate is not None and random.random() >= spec.rate:
                continue
            hits.append(spec)
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining == 0:
                    session.delete(fault)
    return hits


def _matches(spec: FaultSpec, province: str, system: str, operation: str) -> bool:
    return all(
        wanted in ("*", actual)
        for wanted, actual in (
            (spec.province, province),
            (spec.system, system),
            (spec.operation, operation),
        )
    )
