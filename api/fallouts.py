"""The fallout worklist and the policy in force (`vpdn fallout list|policy`)."""

from typing import Annotated

from fastapi import APIRouter, Query, Request

from api.orders import Reader, reads
from models.fallout import FalloutPolicy, FalloutView

router = APIRouter(tags=["fallouts"])


@router.get("/fallouts", response_model=list[FalloutView])
def list_fallouts(
    request: Request, _: Reader,
    province: Annotated[str | None, Query(description="Only this province.")] = None,
    system: Annotated[str | None, Query(description="Only this system: crm, hlr, billing, aaa, line, report…")] = None,
    all_: Annotated[bool, Query(alias="all", description="Resolved fallouts too.")] = False,
) -> list[FalloutView]:
    """Open fallouts (with `all`, resolved ones too), oldest first."""
    return reads(request).fallouts(province, system, all_)


@router.get("/fallout-policy", response_model=FalloutPolicy)
def fallout_policy(request: Request, _: Reader) -> FalloutPolicy:
    """The fallout policy in force: the first matching rule decides."""
    return FalloutPolicy.load(request.app.state.intake.settings.fallout_policy_file)
