"""Group customers (集团客户): acquisition messages and how provincial records are identified."""

import re
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from models.orders import OrderNo

# ASCII digits only: `\d` would take full-width and Arabic-Indic digits too.
CUSTOMER_CODE = re.compile(r"[0-9]{10}")


def check_customer_code(code: str) -> str:
    """Return the customer code (客户编码) or raise ValueError: it is exactly 10 digits."""
    code = code.strip()
    if not CUSTOMER_CODE.fullmatch(code):
        raise ValueError(f"customer code must be exactly 10 digits, got {code!r}")
    return code


class ProvincialCustomerRecord(BaseModel):
    """What one province's CRM holds for a group customer."""

    province: str
    customer_code: str
    name: str
    credit_code: str
    level: Literal["group", "branch"]


class AcquireCustomerInput(BaseModel):
    order_no: OrderNo
    customer_code: str
    requested_by: str

    @field_validator("customer_code")
    @classmethod
    def _valid_code(cls, value: str) -> str:
        return check_customer_code(value)


class CustomerQuery(BaseModel):
    """Ask one province's CRM for a group customer."""

    order_no: str
    province: str
    customer_code: str


class CustomerQueryAnswer(BaseModel):
    province: str
    record: ProvincialCustomerRecord | None


class CustomerHierarchy(BaseModel):
    """The identified customer: the group at HQ level and its provincial branches."""

    customer_code: str
    name: str
    credit_code: str
    group_province: str
    branches: list[ProvincialCustomerRecord] = Field(default_factory=list)
    # Records filed under the same customer code that belong to another enterprise.
    conflicts: list[ProvincialCustomerRecord] = Field(default_factory=list)

    @property
    def provinces(self) -> list[str]:
        return sorted({self.group_province, *(branch.province for branch in self.branches)})


class AcquisitionResult(BaseModel):
    order_no: str
    hierarchy: CustomerHierarchy


class CustomerNotIdentified(ValueError):
    """The provinces' answers do not identify one enterprise."""


def identify_customer(
    customer_code: str, records: list[ProvincialCustomerRecord]
) -> CustomerHierarchy:
    """Match the provincial records to one enterprise.

    The province holding the group-level record defines the enterprise (its credit code);
    records with the same credit code are its branches, the others are conflicts.
    """
    if not records:
        raise CustomerNotIdentified(f"no province knows customer {customer_code}")
    groups = [record for record in records if record.level == "group"]
    if len(groups) != 1:
        where = ", ".join(sorted(record.province for record in groups)) or "no province"
        raise CustomerNotIdentified(
            f"customer {customer_code} needs exactly one group-level record, found {where}"
        )
    group = groups[0]
    others = sorted((r for r in records if r is not group), key=lambda r: r.province)
    return CustomerHierarchy(
        customer_code=customer_code,
        name=group.name,
        credit_code=group.credit_code,
        group_province=group.province,
        branches=[r for r in others if r.credit_code == group.credit_code],
        conflicts=[r for r in others if r.credit_code != group.credit_code],
    )


# Customer information sync (客户信息同步): provinces push their record changes to GPMS.

CUSTOMER_SYNC_WORKFLOW = "CustomerSync"
CUSTOMER_CHANGE_SIGNAL = "change"
CUSTOMER_NOT_ACQUIRED = "CustomerNotAcquired"


def customer_sync_workflow_id(customer_code: str) -> str:
    """The long-lived workflow per customer that applies the provinces' record changes."""
    return f"vpdn-customer-sync-{customer_code}"


class CustomerChange(BaseModel):
    """A provincial CRM's changed record of a group customer, pushed through the hub."""

    province: str
    customer_code: str
    version: int = Field(ge=1)  # the province's own version of its record
    name: str = Field(min_length=1)
    credit_code: str | None = None  # None: the message leaves it out, GPMS keeps its own
    level: Literal["group", "branch"]
    deleted: bool = False  # the province no longer holds the customer

    @field_validator("customer_code")
    @classmethod
    def _valid_code(cls, value: str) -> str:
        return check_customer_code(value)


class CustomerSyncState(BaseModel):
    """The per-customer sync workflow's state, carried across continue-as-new."""

    customer_code: str
    versions: dict[str, int] = Field(default_factory=dict)  # province → last applied version
    pending: list[CustomerChange] = Field(default_factory=list)
