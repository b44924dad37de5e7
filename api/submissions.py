"""Submitting orders (account managers): every order the CLI submits, through the intake.

The requester is the authenticated principal, never a field of the request;
`pre_approved_by` refers to a business audit made outside GPMS. An order taken answers 201
with the intake's `Accepted`; a duplicate order number 409; bad fields 422, all named.
"""

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Principal, Role, require
from intake import Intake, new_order_no
from models.views import Accepted
from models.contract import ContractAmendment
from models.orders import OrderNo
from models.service import ServiceOpeningContent
from models.service_changes import ServiceChange, TariffChange
from refusal import Refusal

Submitter = Annotated[Principal, Depends(require(Role.account_manager))]
router = APIRouter(prefix="/orders", tags=["submissions"])
CREATED = {"status_code": 201, "response_model": Accepted}


class Submission(BaseModel):
    """What every submission carries besides its content (no requester: that is who asks)."""

    model_config = ConfigDict(extra="forbid")

    order_no: OrderNo | None = Field(default=None, description="Business order number (default: generated).")


class AcquisitionSubmission(Submission):
    customer_code: str = Field(description="The 10-digit customer code (客户编码).")


class AuditedSubmission(Submission):
    pre_approved_by: str | None = Field(default=None, min_length=1,
                                        description="Who made the business audit outside GPMS, if it was.")


class OpeningSubmission(AuditedSubmission, ServiceOpeningContent):
    """A service opening (业务开通), as `vpdn service open`'s order file."""


class ServiceOrderSubmission(AuditedSubmission):
    service_id: str


class AmendedChange(BaseModel):
    """A change may carry an amended contract (what it leaves out stays as in force)."""

    contract: ContractAmendment | None = None


class TariffChangeContent(TariffChange, AmendedChange):
    model_config = ConfigDict(extra="forbid")


class ServiceChangeContent(ServiceChange, AmendedChange):
    model_config = ConfigDict(extra="forbid")


class TariffChangeBody(ServiceOrderSubmission):
    change: TariffChangeContent


class ServiceChangeBody(ServiceOrderSubmission):
    change: ServiceChangeContent


def intake(request: Request) -> Intake:
    return request.app.state.intake


def order_fields(body: AuditedSubmission, prefix: str, principal: Principal) -> dict[str, Any]:
    return {"order_no": body.order_no or new_order_no(prefix), "pre_approved_by": body.pre_approved_by,
            "requested_by": principal.name}


@router.post("/customer-acquisition", **CREATED)
async def acquire_customer(request: Request, body: AcquisitionSubmission, principal: Submitter) -> Accepted:
    """Customer information acquisition (客户信息获取): every province's CRM is asked."""
    return await intake(request).acquire_customer({"order_no": body.order_no or new_order_no("ACQ"),
                                                   "customer_code": body.customer_code, "requested_by": principal.name})


@router.post("/service-opening", **CREATED)
async def open_service(request: Request, body: OpeningSubmission, principal: Submitter) -> Accepted:
    """Service opening (业务开通): everything is checked before anything starts."""
    content = body.model_dump(exclude_unset=True, exclude={"order_no", "pre_approved_by"})
    return await intake(request).open_service({**content, **order_fields(body, "OPN", principal)})


@router.post("/tariff-change", **CREATED)
async def change_tariff(request: Request, body: TariffChangeBody, principal: Submitter) -> Accepted:
    """Group tariff package standard change (集团资费套餐标准变更), queued on its service."""
    return await intake(request).change_tariff(body.service_id, order_fields(body, "TRF", principal),
                                               body.change.model_dump(exclude_unset=True))


@router.post("/service-change", **CREATED)
async def change_service(request: Request, body: ServiceChangeBody, principal: Submitter) -> Accepted:
    """Service change (业务变更): the line, the related provinces or the payer."""
    return await intake(request).change_service(body.service_id, order_fields(body, "CHG", principal),
                                                body.change.model_dump(exclude_unset=True))


@router.post("/service-closure", **CREATED)
async def close_service(request: Request, body: ServiceOrderSubmission, principal: Submitter) -> Accepted:
    """Service closure (业务关闭): only once every member has left the VPDN."""
    return await intake(request).close_service(body.service_id, order_fields(body, "CLS", principal))


MemberFile = Annotated[UploadFile, File(description="CSV: msisdn[,name] per line, UTF-8 or GB18030.")]
ServiceField = Annotated[str, Form()]
OrderNoField = Annotated[str | None, Form(description="Business order number (default: generated).")]
PreApprovedField = Annotated[str | None, Form(description="Who made the business audit outside GPMS, if it was.")]


def form_fields(order_no: str | None, pre_approved_by: str | None, prefix: str, principal: Principal) -> dict:
    return {"order_no": order_no or new_order_no(prefix), "pre_approved_by": pre_approved_by or None,
            "requested_by": principal.name}


@router.post("/member-join", **CREATED)
async def member_join(request: Request, principal: Submitter, service_id: ServiceField, file: MemberFile,
                      order_no: OrderNoField = None, pre_approved_by: PreApprovedField = None) -> Accepted:
    """Members join a VPDN (成员加入): verified by their home CRMs, opened per province."""
    return await intake(request).member_order(service_id, "join", file.file,
                                              form_fields(order_no, pre_approved_by, "JOIN", principal))


@router.post("/member-exit", **CREATED)
async def member_exit(request: Request, principal: Submitter, service_id: ServiceField, file: MemberFile,
                      order_no: OrderNoField = None, pre_approved_by: PreApprovedField = None) -> Accepted:
    """Members leave a VPDN (成员退出)."""
    return await intake(request).member_order(service_id, "exit", file.file,
                                              form_fields(order_no, pre_approved_by, "EXIT", principal))


@router.post("/member-plan-change", **CREATED)
async def member_plan_change(
    request: Request, principal: Submitter, service_id: ServiceField, file: MemberFile,
    plan: Annotated[str, Form(description='JSON: {"name": "…", "tariff_version": N, "parameters": {…}}')],
    plan_from: Annotated[Literal["next_day", "next_month"], Form()] = "next_day",
    order_no: OrderNoField = None, pre_approved_by: PreApprovedField = None,
) -> Accepted:
    """Members move to a member plan (成员套餐变更)."""
    try:
        plan_fields = json.loads(plan)
    except ValueError as error:
        raise Refusal(f"plan: not JSON: {error}") from None
    if not isinstance(plan_fields, dict):
        raise Refusal("plan: a JSON object {…} is expected")
    fields = {**form_fields(order_no, pre_approved_by, "PLAN", principal), "plan_from": plan_from}
    return await intake(request).member_plan_change(service_id, file.file, plan_fields, fields)
