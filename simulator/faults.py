"""Faults injected into the simulated provinces: which ones hit a call, and using them up."""

import random
from collections.abc import Set

from sqlalchemy import Engine
from sqlmodel import Session, select

from models.hub import FaultKind, FaultSpec
from simulator.db import Fault


def add_fault(engine: Engine, spec: FaultSpec) -> int:
    """Store a fault; it hits matching calls from now on. Returns its id."""
    with Session(engine) as session, session.begin():
        fault = Fault(spec=spec.model_dump(mode="json"), remaining=spec.count)
        session.add(fault)
        session.flush()
        return fault.id


def list_faults(engine: Engine) -> list[dict]:
    """The faults in force, each with its id, the calls it may still hit and has hit."""
    with Session(engine) as session:
        faults = session.exec(select(Fault).order_by(Fault.id)).all()
        return [{"id": f.id, "remaining": f.remaining, "hits": f.hits, "spec": f.spec} for f in faults]


def take_faults(
    engine: Engine,
    province: str,
    system: str,
    operation: str,
    members: Set[str] | None = None,
    kinds: Set[FaultKind] | None = None,
) -> list[FaultSpec]:
    """The faults that hit this call (`members`: a batch call's numbers; `kinds`: only faults
    of these kinds). A fault with a `count` is used up by its hits; one naming members hits
    only batches with one of them."""
    hits = []
    with Session(engine) as session, session.begin():
        for fault in session.exec(select(Fault).order_by(Fault.id)):
            spec = FaultSpec.model_validate(fault.spec)
            if not _matches(spec, province, system, operation, members) or (kinds and spec.kind not in kinds):
                continue
            if spec.rate is not None and random.random() >= spec.rate:
                continue
            hits.append(spec)
            fault.hits += 1
            session.add(fault)
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining == 0:
                    session.delete(fault)
    return hits


def _matches(
    spec: FaultSpec, province: str, system: str, operation: str, members: Set[str] | None
) -> bool:
    """Whether the fault targets this call: its province, system and operation, and, if it
    names members, a batch holding one of them."""
    if spec.msisdns is not None and (members is None or members.isdisjoint(spec.msisdns)):
        return False
    return all(
        wanted in ("*", actual)
        for wanted, actual in (
            (spec.province, province),
            (spec.system, system),
            (spec.operation, operation),
        )
    )
