"""Orders on an existing service (tariff change, service change, closure; a repair builds on
their base): what they carry and what they answer."""

from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from models.contract import ContractAmendment
from models.orders import OrderNo
from models.provinces import check_province, check_provinces
from models.service import DedicatedLine, ReportTimers, TariffPackage


class TariffChange(BaseModel):
    """A group tariff package standard change (集团资费套餐标准变更): new values of existing
    parameters, new values of existing discounts, and new discounts."""

    parameters: dict[str, str] = Field(default_factory=dict)
    discounts: dict[str, str] = Field(default_factory=dict)
    new_discounts: dict[str, str] = Field(default_factory=dict)


class TariffChangeRefused(ValueError):
    pass


def apply_tariff_change(current: TariffPackage, change: TariffChange) -> TariffPackage:
    """The complete package after the change; refuses unknown names and a change that
    changes nothing."""
    unknown = [f"parameter {n}" for n in change.parameters if n not in current.parameters]
    unknown += [f"discount {n}" for n in change.discounts if n not in current.discounts]
    existing = [f"discount {n}" for n in change.new_discounts if n in current.discounts]
    problems = ([f"unknown in the current package: {', '.join(unknown)}"] if unknown else []) + (
        [f"new but already in the current package (change it under \"discounts\"): {', '.join(existing)}"]
        if existing else [])
    if problems:
        raise TariffChangeRefused("; ".join(problems))
    changed = TariffPackage(
        name=current.name,
        parameters={**current.parameters, **change.parameters},
        discounts={**current.discounts, **change.discounts, **change.new_discounts},
    )
    if changed == current:
        raise TariffChangeRefused("the change changes nothing: every value is already in force")
    return changed


class ServiceOrderBase(BaseModel):
    """What every order on an existing service carries."""

    order_no: OrderNo
    service_id: str
    customer_code: str
    # The service's provinces and APN when the order was submitted (for lists and the UI).
    provinces: list[str] = Field(default_factory=list)
    apn: str | None = None
    requested_by: str = Field(min_length=1)
    pre_approved_by: str | None = None
    timers: ReportTimers = Field(default_factory=ReportTimers)


class TariffChangeOrder(ServiceOrderBase):
    kind: Literal["tariff_change"] = "tariff_change"
    change: TariffChange
    contract: ContractAmendment | None = None  # an amended contract, recorded as a new version


class ServiceChange(BaseModel):
    """A service change (业务变更): the dedicated line, the related provinces, the payer."""

    line: DedicatedLine | None = None
    provinces: list[str] | None = None
    paying_province: str | None = None
    # The new line rental starts when the customer confirms (vpdn order confirm-rental).
    confirm_rental: bool = False

    @field_validator("provinces")
    @classmethod
    def _provinces(cls, codes: list[str] | None) -> list[str] | None:
        return None if codes is None else check_provinces(codes)

    @field_validator("paying_province")
    @classmethod
    def _payer(cls, code: str | None) -> str | None:
        return None if code is None else check_province(code)

    @model_validator(mode="after")
    def _something(self) -> "ServiceChange":
        if self.line is None and self.provinces is None and self.paying_province is None:
            raise ValueError("a service change changes the line, the provinces or the paying province")
        return self


class ServiceChangeOrder(ServiceOrderBase):
    kind: Literal["service_change"] = "service_change"
    change: ServiceChange
    contract: ContractAmendment | None = None  # an amended contract, recorded as a new version


class ServiceClosureOrder(ServiceOrderBase):
    kind: Literal["service_closure"] = "service_closure"


class ServiceOrderResult(BaseModel):
    order_no: str
    service_id: str
    state: str
    detail: str = ""
