"""Fallout (held orders): which failures wait for a person, and what a person decides.

The policy is data: rules matched in order by order type, step, system and error code,
each saying what to do with a step that failed for good — retry it (n times, then hold),
compensate the order, skip the step, or hold the order for a person until a deadline after
which it compensates by itself.
"""

import json
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

DEFAULT_POLICY_FILE = Path(__file__).resolve().parent / "fallout_policy.json"
DEADLINE_CODE = "DEADLINE"  # the code of a completion report that never came


class FalloutAction(StrEnum):
    retry = "retry"
    compensate = "compensate"
    skip = "skip"
    hold = "hold"


class PolicyRule(BaseModel):
    order_type: str = "*"
    step: str = "*"
    system: str = "*"
    code: str = "*"
    action: FalloutAction
    retries: int = Field(default=0, ge=0)  # for retry: how many times before holding
    hold_for: timedelta = timedelta(hours=24)  # for hold: then the order compensates by itself
    why: str = ""

    def matches(self, order_type: str, step: str, system: str, code: str) -> bool:
        return all(rule in ("*", value) for rule, value in
                   ((self.order_type, order_type), (self.step, step), (self.system, system), (self.code, code)))


class FalloutPolicy(BaseModel):
    rules: list[PolicyRule]

    @classmethod
    def load(cls, path: Path = DEFAULT_POLICY_FILE) -> "FalloutPolicy":
        return cls.model_validate(json.loads(path.read_text()))

    def rule_for(self, order_type: str, step: str, system: str, code: str) -> PolicyRule:
        """The first rule that matches; the last rule of a policy should match everything."""
        for rule in self.rules:
            if rule.matches(order_type, step, system, code):
                return rule
        return PolicyRule(action=FalloutAction.compensate, why="no rule matched")


class StepFailure(BaseModel):
    """A step that failed for good, as the policy looks at it."""

    order_no: str
    order_type: str
    step: str
    province: str
    system: str
    code: str
    text: str


# An order's fallout: retry the step, skip it, compensate the order. A reconciliation
# difference: repair the province from GPMS, accept the province's state, ignore it (a reason).
DecisionAction = Literal["retry", "skip", "compensate", "repair", "accept", "ignore"]
ORDER_KIND, RECONCILE_KIND = "order", "reconcile"


class Fallout(StepFailure):
    """A fallout record: a held order's failed step, or (kind `reconcile`) a difference the
    nightly reconciliation found between GPMS and a province; what a person may decide."""

    fallout_id: str
    allowed: list[DecisionAction]
    deadline: datetime | None = None  # after it the order compensates by itself
    kind: Literal["order", "reconcile"] = ORDER_KIND
    service_id: str | None = None
    resource: str = ""  # a difference's resource: `<kind> <key>` in the province's system
    gpms_holds: str = ""
    province_holds: str = ""


class FalloutDecision(BaseModel):
    fallout_id: str
    action: DecisionAction
    by: str = Field(min_length=1)
    reason: str = ""


class FalloutView(Fallout):
    created_at: datetime
    occurrence: int = 1  # a difference found again after it was repaired or accepted
    state: str  # open, resolved
    decision: str | None = None
    decided_by: str | None = None
    reason: str = ""
