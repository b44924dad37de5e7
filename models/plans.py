"""Member plans (成员套餐) and the member plan change order.

A member plan is a set of member-level parameters of the service's CURRENT group tariff
package — the package parameters named `member_*` (such as `member_fee`) — with a name, and
the tariff version it refers to. A member on a plan is billed with the plan's values where
the package's own differ; a member on no plan is on the `standard` plan: the package's own
values. A plan change moves some members to a plan, per home province; a member that fails
keeps its old plan everywhere.
"""

from typing import Literal

from pydantic import BaseModel, Field

from models.members import BatchRef, BatchReport, MemberOrder, MemberStep
from models.service import TariffPackage

STANDARD = "standard"
MEMBER_PARAMETER_PREFIX = "member_"


class MemberPlan(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    tariff_version: int = Field(ge=1)
    parameters: dict[str, str] = Field(default_factory=dict)

    def __str__(self) -> str:
        values = ", ".join(f"{name}={value}" for name, value in sorted(self.parameters.items()))
        return f"{self.name} (v{self.tariff_version}" + (f": {values})" if values else ")")

    def same_as(self, other: "MemberPlan | None") -> bool:
        """The same plan for billing: a missing plan is the standard plan of any version."""
        if other is None:
            return self.name == STANDARD and not self.parameters
        return self == other


class PlanRefused(ValueError):
    pass


def check_plan(plan: MemberPlan, tariff: TariffPackage, version: int) -> None:
    """Refuse a plan that does not fit the service's current package (version `version`)."""
    if plan.tariff_version != version:
        raise PlanRefused(f"the plan refers to tariff version {plan.tariff_version}; the service's current "
                          f"version is {version}")
    member_parameters = sorted(n for n in tariff.parameters if n.startswith(MEMBER_PARAMETER_PREFIX))
    unknown = sorted(n for n in plan.parameters if n not in member_parameters)
    if unknown:
        raise PlanRefused(f"unknown plan parameters: {', '.join(unknown)} (member parameters of tariff version "
                          f"{version}: {', '.join(member_parameters)})")
    if plan.name == STANDARD and plan.parameters:
        raise PlanRefused(f"the {STANDARD} plan is the package's own values: give the plan another name")


class MemberPlanChangeOrder(MemberOrder):
    """A member plan change (成员套餐变更); its members are the order's items in the store."""

    kind: Literal["plan_change"] = "plan_change"
    plan: MemberPlan
    # Member billing changes from the next day, or from the first day of the next month.
    plan_from: Literal["next_day", "next_month"] = "next_day"


MemberPlanChangeOrder.model_rebuild(_types_namespace={"BatchRef": BatchRef})


class PlanStep(MemberStep):
    """A batch step of a plan change: the plan and the date it applies from."""

    plan: MemberPlan
    plan_from: str  # ISO date, Beijing


class FinishedPlanChange(BaseModel):
    order_no: str
    service_id: str
    plan: MemberPlan
    plan_from: str
    reports: list[BatchReport] = Field(default_factory=list)


class MemberTermsView(BaseModel):
    """The terms a member is recorded on in its VPDN (the order store's view of them)."""

    msisdn: str
    plan_name: str
    plan_version: int | None = None
    plan_parameters: dict = Field(default_factory=dict)
    plan_from: str | None = None
    opened_on: str | None = None
    rental_from: str | None = None
    reported_on: str | None = None
    order_no: str = ""
