"""A provincial CRM changes its record of a group customer and pushes the change to GPMS
through the hub (客户信息同步): a POST to GPMS's door (`simulator.reports.GpmsDoor`)."""

from collections.abc import Awaitable, Callable
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session, select

from models.customer import CustomerChange, check_customer_code
from models.provinces import check_province
from simulator.db import CustomerRecord

# Delivers one customer record change to GPMS.
ChangeSink = Callable[[CustomerChange], Awaitable[None]]


class RecordChange(BaseModel):
    """What changes in one province's record of a customer; fields left out stay as they are."""

    province: str
    name: str | None = None
    credit_code: str | None = None
    level: Literal["group", "branch"] | None = None
    deleted: bool = False  # the province no longer holds the customer


def change_record(engine: Engine, customer_code: str, request: RecordChange) -> CustomerChange:
    """Change, add or delete the province's record; its version goes up by one (a new record
    is version 1). Returns the change for GPMS. Raises ValueError for a bad code or province,
    or a new record without its name or credit code; LookupError for deleting no record."""
    customer_code = check_customer_code(customer_code)
    province = check_province(request.province)
    with Session(engine) as session, session.begin():
        record = session.get(CustomerRecord, (province, customer_code))
        if record is None and request.deleted:
            raise LookupError(f"{province} holds no record of customer {customer_code}")
        if record is None:
            record = _new_record(session, province, customer_code, request)
        else:
            record.sqlmodel_update(request.model_dump(include={"name", "credit_code", "level"},
                                                      exclude_none=True))
            record.version += 1
        change = CustomerChange(**record.model_dump(), deleted=request.deleted)
        if request.deleted:
            session.delete(record)
        else:
            session.add(record)
        return change


def _new_record(session: Session, province: str, customer_code: str, request: RecordChange) -> CustomerRecord:
    """A record the province did not hold: a branch by default, with the credit code the other
    provinces hold for the customer unless given."""
    if request.name is None:
        raise ValueError(f"{province} holds no record of customer {customer_code}: give a name to add one")
    credit_code = request.credit_code or session.exec(
        select(CustomerRecord.credit_code).where(CustomerRecord.customer_code == customer_code)).first()
    if credit_code is None:
        raise ValueError(f"no province holds customer {customer_code}: give a credit_code to add it")
    return CustomerRecord(province=province, customer_code=customer_code, name=request.name,
                          credit_code=credit_code, level=request.level or "branch")
