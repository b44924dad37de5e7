"""VPDN services and group customers as staff read them: a service (`vpdn service show`),
its members, its acceptance table, the CRMs' notifications of its members' own number
changes; a customer and its hierarchy (`vpdn customer show`)."""

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response

from api.orders import TABLE_ANSWER, Reader, TableFormat, TableLang, reads, table_response
from models.customer import CustomerHierarchy
from models.member_changes import NotificationView
from reads import ServiceDetail, ServiceMember

router = APIRouter(tags=["services and customers"])


@router.get("/services/{service_id}", response_model=ServiceDetail)
def show_service(request: Request, service_id: str, _: Reader) -> ServiceDetail:
    """A service as GPMS records it: state, provinces, line, rental, contract, tariff package,
    members per home province and the orders not yet ended."""
    return reads(request).service_detail(service_id)


@router.get("/services/{service_id}/members", response_model=list[ServiceMember])
def service_members(request: Request, service_id: str, _: Reader) -> list[ServiceMember]:
    """The members now in a VPDN, with their home provinces and member plans (None: standard)."""
    return reads(request).service_members(service_id)


@router.get("/services/{service_id}/acceptance-table", response_class=Response, responses=TABLE_ANSWER)
def service_table(request: Request, service_id: str, _: Reader,
                  order: Annotated[str | None, Query(description="The table kept with this order of the service.")] = None,
                  fmt: TableFormat = None, lang: TableLang = "zh",
                  accept: Annotated[str | None, Header()] = None) -> Response:
    """A service's acceptance table as it stands, or the one kept with one of its orders
    (`vpdn service report`)."""
    table = request.app.state.intake.acceptance_table(service_id, order)
    name = f"acceptance-{(order or service_id).strip()}"
    return table_response(table, name, fmt, accept, lang)


@router.get("/customers/{customer_code}", response_model=CustomerHierarchy)
def show_customer(request: Request, customer_code: str, _: Reader) -> CustomerHierarchy:
    """A group customer GPMS acquired, with its hierarchy (group and provincial branches)."""
    return reads(request).customer(customer_code)


@router.get("/member-notifications", response_model=list[NotificationView])
def member_notifications(request: Request, _: Reader,
                         service: Annotated[str | None, Query(description="Only this service's.")] = None,
                         ) -> list[NotificationView]:
    """CRMs' notifications of members' own number changes, latest first (`vpdn member
    notifications`): accepted with the orders they caused, or refused with the reason."""
    return request.app.state.store.notifications.list_notifications(service)
