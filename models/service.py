"""A VPDN service: its opening (业务开通) order, its parts and answers, and how GPMS records it."""

import re
from datetime import timedelta
from enum import StrEnum

from pydantic import BaseModel, Field, field_validator, model_validator

from models.contract import Contract, ContractVersion
from models.customer import check_customer_code
from models.orders import OrderNo
from models.provinces import check_province, check_provinces

APN = re.compile(r"^(?=.{3,63}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")

# The longest a step may wait for a province's completion report.
MAX_REPORT_WAIT = timedelta(days=30)

# Every group tariff package states at least these parameters.
REQUIRED_TARIFF_PARAMETERS = ("monthly_fee", "member_fee")
# A fee (a parameter named …_fee) is an amount in yuan: 30, 12.5 or 12.50.
FEE = re.compile(r"\d{1,9}(\.\d{1,2})?")


class TariffPackage(BaseModel):
    """A group tariff package (集团资费套餐): parameter values and package discounts (优惠)."""

    name: str = Field(min_length=1)
    parameters: dict[str, str]
    discounts: dict[str, str] = Field(default_factory=dict)

    @field_validator("parameters")
    @classmethod
    def _required_parameters(cls, parameters: dict[str, str]) -> dict[str, str]:
        missing = [name for name in REQUIRED_TARIFF_PARAMETERS if not parameters.get(name)]
        if missing:
            raise ValueError(f"tariff package is missing parameters: {', '.join(missing)}")
        return parameters


def bad_fees(parameters: dict[str, str]) -> str | None:
    """Why some of these parameters' fees are not amounts in yuan (None: all are). The intake
    asks it of what a person submits; packages already recorded are taken as they are."""
    bad = [f"{name} {value!r}" for name, value in parameters.items()
           if name.endswith("_fee") and not FEE.fullmatch(value.strip())]
    return f"fees are amounts in yuan such as 30 or 12.50: {', '.join(bad)}" if bad else None


class DedicatedLine(BaseModel):
    """The EC's local dedicated line (专线) in the access province."""

    bandwidth_mbps: int = Field(gt=0, le=100_000)
    address: str = Field(min_length=1)

    def __str__(self) -> str:
        return f"{self.bandwidth_mbps} Mbit/s at {self.address}"


class RentalRule(StrEnum):
    """When the rental starts (按照规则起租)."""

    next_day = "next_day"
    next_month = "next_month"  # the first day of the next month
    on_confirmation = "on_confirmation"  # when the customer confirms (vpdn order confirm-rental)


class ReportTimers(BaseModel):
    """How long a province may take to report completion: after `jeopardy_after` the order is
    flagged in jeopardy; after `fail_after` (at most 30 days) the step fails."""

    jeopardy_after: timedelta = timedelta(hours=4)
    fail_after: timedelta = timedelta(hours=48)

    @model_validator(mode="after")
    def _ordered(self) -> "ReportTimers":
        if not timedelta(0) < self.jeopardy_after < self.fail_after <= MAX_REPORT_WAIT:
            raise ValueError("report timers need 0 < jeopardy_after < fail_after ≤ 30 days")
        return self


class ServiceOpeningContent(BaseModel):
    """What a service opening asks for, as `vpdn service open`'s order file says it (the API
    takes it so; the order adds its number and the people)."""

    customer_code: str
    apn: str
    access_province: str
    provinces: list[str] = Field(min_length=1)
    tariff: TariffPackage
    line: DedicatedLine | None = None
    paying_province: str | None = None
    rental_rule: RentalRule = RentalRule.next_day
    timers: ReportTimers = Field(default_factory=ReportTimers)
    # The contract signed for it; the intake refuses an opening without one (orders started
    # before contracts were recorded carry none).
    contract: Contract | None = None


class ServiceOpeningOrder(ServiceOpeningContent):
    """A new cross-domain VPDN, as submitted with `vpdn service open`."""

    order_no: OrderNo
    requested_by: str = Field(min_length=1)
    pre_approved_by: str | None = None

    @field_validator("customer_code")
    @classmethod
    def _customer_code(cls, code: str) -> str:
        return check_customer_code(code)

    @field_validator("apn")
    @classmethod
    def _apn(cls, apn: str) -> str:
        apn = apn.strip().lower()
        if not APN.match(apn):
            raise ValueError(f"APN {apn!r} is not a domain name such as acme.vpdn.gd")
        return apn

    @field_validator("access_province", "paying_province")
    @classmethod
    def _province(cls, code: str | None) -> str | None:
        return None if code is None else check_province(code)

    @field_validator("provinces")
    @classmethod
    def _provinces(cls, codes: list[str]) -> list[str]:
        return check_provinces(codes)

    @model_validator(mode="after")
    def _defaults(self) -> "ServiceOpeningOrder":
        # The access province always takes part; the payer defaults to it.
        if self.access_province not in self.provinces:
            self.provinces = [self.access_province, *self.provinces]
        if self.paying_province is None:
            self.paying_province = self.access_province
        return self

    @property
    def service_id(self) -> str:
        return f"SVC-{self.order_no}"

    @property
    def off_site_payment(self) -> bool:
        """异地付费: the rental is paid in another province than the access province."""
        return self.paying_province != self.access_province


class ServiceRegistration(BaseModel):
    """The service as GPMS records it when the opening order is accepted."""

    order_no: str
    service_id: str
    customer_code: str
    apn: str
    access_province: str
    paying_province: str
    provinces: list[str]
    tariff: TariffPackage
    line: DedicatedLine | None = None
    rental_rule: RentalRule = RentalRule.next_day
    contract: Contract | None = None


class ServiceView(BaseModel):
    """A VPDN service as GPMS records it."""

    service_id: str
    customer_code: str
    apn: str
    access_province: str
    paying_province: str
    provinces: list[str]
    state: str
    tariff_version: int
    tariff: TariffPackage
    line: DedicatedLine | None = None
    rental_id: str | None = None
    rental_rule: RentalRule = RentalRule.next_day
    rental_start: str | None = None  # the running rental's first day (Beijing date)
    contract: ContractVersion | None = None  # the version in force

    @property
    def off_site_payment(self) -> bool:
        return self.paying_province != self.access_province


class ServiceOpeningResult(BaseModel):
    order_no: str
    service_id: str
    state: str
    rental_start: str | None = None


class TariffVersion(BaseModel):
    service_id: str
    version: int
    tariff: TariffPackage


class ServiceUpdate(BaseModel):
    """What a completed service change records."""

    service_id: str
    line: DedicatedLine | None = None
    remove_line: bool = False
    provinces: list[str] | None = None
    paying_province: str | None = None
    rental_id: str | None = None
    rental_start: str | None = None
    state: str | None = None
