"""The contract (协议/合同) behind a service: signed after HQ approved the requirement and the
tariff; the signing account manager reports it with the opening order. A later tariff change
or service change may carry an amended contract, recorded as a new version."""

from datetime import date, datetime

from pydantic import BaseModel, Field

from models.orders import OrderEventIn

CONTRACT_NUMBER = r"^[A-Za-z0-9][A-Za-z0-9_./-]{0,63}$"


class Contract(BaseModel):
    """A contract as an opening order carries it."""

    number: str = Field(pattern=CONTRACT_NUMBER)
    signed_on: date
    signed_by: str = Field(min_length=1)  # the signing account manager (签约方客户经理)
    tariff_reference: str = Field(min_length=1)  # the HQ-approved tariff's reference

    def __str__(self) -> str:
        return (f"contract {self.number} signed {self.signed_on.isoformat()} by {self.signed_by} "
                f"(approved tariff {self.tariff_reference})")


class ContractAmendment(BaseModel):
    """An amended contract carried by a tariff change or a service change: a new number, and
    whatever else changed (the rest is taken from the version in force)."""

    number: str = Field(pattern=CONTRACT_NUMBER)
    signed_on: date | None = None
    signed_by: str | None = Field(default=None, min_length=1)
    tariff_reference: str | None = Field(default=None, min_length=1)

    def __str__(self) -> str:
        changed = [f"{name} {value}" for name, value in self.model_dump(exclude_none=True, exclude={"number"}).items()]
        return f"amended contract {self.number}" + (f" ({', '.join(changed)})" if changed else "")

    def applied_to(self, current: Contract | None) -> Contract:
        """The contract once amended; without a version in force every field must be given."""
        base = current.model_dump() if current else {}
        return Contract.model_validate({**base, **self.model_dump(exclude_none=True)})


class ContractVersion(BaseModel):
    """A recorded version of a service's contract, and the order that recorded it."""

    service_id: str
    version: int
    order_no: str
    contract: Contract
    recorded_at: datetime | None = None


class ContractRecord(BaseModel):
    """What an order asks the store to record: the service's new contract version."""

    service_id: str
    order_no: str
    amendment: ContractAmendment
    event: OrderEventIn | None = None  # the audit-trail event that follows, written with it
