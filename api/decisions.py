"""People's decisions on orders: the business audit, the customer's rental confirmation,
cancellation, and what to do with a fallout or a failed compensation.

Each is sent to the order's workflow through the intake as an update, whose validator says
at once whether the order takes it (409 with the reason when it does not await it); the
actor is the authenticated principal, never a name typed in the request.
"""

from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from api.auth import Principal, Role, require
from intake import Intake
from models.orders import CompensationDecision, Decision

router = APIRouter(tags=["decisions"])


class Reason(BaseModel):
    reason: str = Field("", description="Why (recorded in the audit trail).")


class RequiredReason(BaseModel):
    reason: str = Field(min_length=1, description="Why (recorded in the audit trail).")


class CompensationChoice(Reason):
    action: Literal["retry", "done_by_hand"] = Field(
        description="retry: try the failed undos again; done_by_hand: they were completed by hand.")


class FalloutChoice(Reason):
    action: Literal["retry", "skip", "compensate", "repair", "accept", "ignore"] = Field(
        description="A held order: retry the step, skip it, or compensate the order. A reconciliation "
                    "difference: repair it from GPMS, accept the province's state, or ignore it (with a reason).")


class DecisionAnswer(BaseModel):
    """The workflow's answer: the decision was taken."""

    order_no: str
    answer: str


def _intake(request: Request) -> Intake:
    return request.app.state.intake


async def _decide(request: Request, order_no: str, update: str, decision: Decision) -> DecisionAnswer:
    return DecisionAnswer(order_no=order_no, answer=await _intake(request).decide(order_no, update, decision))


@router.post("/orders/{order_no}/approval", summary="Approve the order's business audit (业务审核)")
async def approve(request: Request, order_no: str, body: Reason | None = None,
                  principal: Principal = Depends(require(Role.hq_auditor))) -> DecisionAnswer:
    return await _decide(request, order_no, "approve", Decision(by=principal.name, reason=(body or Reason()).reason))


@router.post("/orders/{order_no}/rejection", summary="Reject the order's business audit: nothing is done")
async def reject(request: Request, order_no: str, body: RequiredReason,
                 principal: Principal = Depends(require(Role.hq_auditor))) -> DecisionAnswer:
    return await _decide(request, order_no, "reject", Decision(by=principal.name, reason=body.reason))


@router.post("/orders/{order_no}/rental-confirmation", summary="The customer confirms the rental start (today)")
async def confirm_rental(request: Request, order_no: str, body: Reason | None = None,
                         principal: Principal = Depends(require(Role.account_manager))) -> DecisionAnswer:
    return await _decide(request, order_no, "confirm_rental",
                         Decision(by=principal.name, reason=(body or Reason()).reason))


@router.post("/orders/{order_no}/cancellation", summary="Cancel the order: what was done is compensated")
async def cancel(request: Request, order_no: str, body: RequiredReason,
                 principal: Principal = Depends(require(Role.operator))) -> DecisionAnswer:
    return await _decide(request, order_no, "cancel", Decision(by=principal.name, reason=body.reason))


@router.post("/orders/{order_no}/compensation-resolution",
             summary="Decide on an order held because a compensation failed")
async def resolve_compensation(request: Request, order_no: str, body: CompensationChoice,
                               principal: Principal = Depends(require(Role.operator))) -> DecisionAnswer:
    return await _decide(request, order_no, "resolve_compensation",
                         CompensationDecision(by=principal.name, action=body.action, reason=body.reason))


@router.post("/fallouts/{fallout_id}/resolution",
             summary="Decide on a fallout: retry, skip, compensate; a difference: repair, accept, ignore")
async def resolve_fallout(request: Request, fallout_id: str, body: FalloutChoice,
                          principal: Principal = Depends(require(Role.operator))) -> DecisionAnswer:
    order_no, answer = await _intake(request).resolve_fallout(fallout_id, body.action, principal.name, body.reason)
    return DecisionAnswer(order_no=order_no, answer=answer)
