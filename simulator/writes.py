"""The write log: every effect a province's system applied (a resource created or changed, an
SMS sent), with the key of the call that applied it — to find an effect applied twice.

A step asked again under a new key (`…:attempt-2`) is still the same step: writes are grouped
by the step, its key without the attempt, so a duplicate made by a retry under a new key
shows as well as one made under the same key.
"""

import re
from collections import Counter, defaultdict

from sqlalchemy import func, insert
from sqlmodel import Session, select

from simulator.db import WriteRecord, utcnow

ATTEMPT = re.compile(r"[:-]attempt-\d+")


def log_writes(session: Session, province: str, system: str, kind: str, operation: str, key: str,
               targets: list[str]) -> None:
    """Log one write per target (one statement for a whole batch)."""
    if targets:
        step, now = ATTEMPT.sub("", key), utcnow()
        session.exec(insert(WriteRecord), params=[
            {"province": province, "system": system, "kind": kind, "target": target, "operation": operation,
             "idempotency_key": key, "step": step, "at": now} for target in targets])


GROUP = (WriteRecord.province, WriteRecord.system, WriteRecord.kind, WriteRecord.target, WriteRecord.step)


def repeated_writes(session: Session, limit: int = 1000) -> list[dict]:
    """The effects one step applied more than once to one resource (or SMSs one step sent to
    one number): `[{"province", "system", "kind", "key", "step", "writes", "keys"}]`."""
    groups = session.exec(select(*GROUP, func.count()).group_by(*GROUP).having(func.count() > 1)
                          .order_by(*GROUP).limit(limit)).all()
    found = []
    for province, system, kind, target, step, writes in groups:
        keys = session.exec(select(WriteRecord.idempotency_key).distinct().where(
            WriteRecord.province == province, WriteRecord.system == system, WriteRecord.kind == kind,
            WriteRecord.target == target, WriteRecord.step == step)).all()
        found.append({"province": province, "system": system, "kind": kind, "key": target, "step": step,
                      "writes": writes, "keys": sorted(keys)})
    return found


def writes_summary(session: Session) -> list[dict]:
    """Per system and kind: the writes, the resources (or SMS numbers) written and those written
    more than once by one step: `[{"system", "kind", "writes", "targets", "repeated"}]`."""
    writes, repeated, targets = Counter(), Counter(), defaultdict(set)
    for province, system, kind, target, step, count in session.exec(
            select(*GROUP, func.count()).group_by(*GROUP)):
        writes[system, kind] += count
        targets[system, kind].add((province, target))
        repeated[system, kind] += count > 1
    return [{"system": system, "kind": kind, "writes": writes[system, kind],
             "targets": len(targets[system, kind]), "repeated": repeated[system, kind]}
            for system, kind in sorted(writes)]
