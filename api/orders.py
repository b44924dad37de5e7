"""Orders as staff read them (TMF641's order resource): one order with its audit trail, its
live status, the list with `vpdn order list`'s filters, its members' results and the
acceptance table kept with it. Every staff role may read; the hub may not."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import AfterValidator
from acceptance_sheet import table_bytes
from api.auth import Principal, Role, require
from models.acceptance import AcceptanceTable
from models.customer import check_customer_code
from models.members import ItemState, MemberResult
from models.orders import OrderEventView, OrderState, OrderType, OrderView
from models.views import OrderList, OrderStatusView
from reads import Reads

READERS = (Role.viewer, Role.account_manager, Role.hq_auditor, Role.operator, Role.admin)
Reader = Annotated[Principal, Depends(require(*READERS))]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TABLE_TYPES = {"xlsx": XLSX, "csv": "text/csv; charset=utf-8"}
TableFormat = Annotated[Literal["xlsx", "csv"] | None, Query(
    alias="format", description="xlsx or csv; without it the Accept header decides (text/csv, else xlsx).")]
TableLang = Annotated[Literal["zh", "en"], Query(description="Column headers in Chinese or English.")]

router = APIRouter(prefix="/orders", tags=["orders"])


def reads(request: Request) -> Reads:
    return request.app.state.intake.reads


def table_response(table: AcceptanceTable, name: str, fmt: str | None, accept: str | None, lang: str) -> Response:
    """The acceptance table as a spreadsheet: `fmt` if given, else by the Accept header."""
    fmt = fmt or ("csv" if accept and "text/csv" in accept else "xlsx")
    return Response(table_bytes(table, f".{fmt}", lang), media_type=TABLE_TYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'})


TABLE_ANSWER = {200: {"content": {XLSX: {}, "text/csv": {}},
                      "description": "The acceptance basic information table (VPDN业务受理基础信息表)."}}


@router.get("", response_model=OrderList)
def list_orders(
    request: Request, _: Reader,
    state: OrderState | None = None,
    order_type: Annotated[OrderType | None, Query(alias="type")] = None,
    service: Annotated[str | None, Query(description="Only this service's orders.")] = None,
    customer: Annotated[str | None, Query(description="Only this customer code's orders."),
                        AfterValidator(lambda code: None if code is None else check_customer_code(code))] = None,
    province: Annotated[str | None, Query(description="Only orders touching this province.")] = None,
    older_than: Annotated[str | None, Query(description="Only orders unchanged for this long: 30m, 4h, 2d.")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 50,
) -> OrderList:
    """Orders, newest first (`vpdn order list`), and how many match the filters in all."""
    return reads(request).orders({"state": state, "order_type": order_type, "service_id": service,
                                  "customer_code": customer, "province": province, "older_than": older_than},
                                 limit)


@router.get("/{order_no}", response_model=OrderView)
def show_order(request: Request, order_no: str, _: Reader) -> OrderView:
    """An order and its audit trail (`vpdn order show`)."""
    return reads(request).order(order_no)


@router.get("/{order_no}/events", response_model=list[OrderEventView])
def order_events(request: Request, order_no: str, _: Reader) -> list[OrderEventView]:
    """An order's audit trail: who did what, when."""
    return reads(request).order(order_no).events


@router.get("/{order_no}/status", response_model=OrderStatusView)
async def order_status(request: Request, order_no: str, _: Reader) -> OrderStatusView:
    """Where an order stands (`vpdn order status`): state, what it waits for, steps per
    province, jeopardy, unexpected reports."""
    order = reads(request).order(order_no)
    return OrderStatusView(status=await reads(request).status(order), members=reads(request).member_counts(order),
                           events=order.events[-10:])


@router.get("/{order_no}/members", response_model=list[MemberResult])
def order_members(request: Request, order_no: str, _: Reader, state: ItemState | None = None) -> list[MemberResult]:
    """Per-member results of a member order (`vpdn order members`)."""
    return reads(request).members(order_no, state)


@router.get("/{order_no}/acceptance-table", response_class=Response, responses=TABLE_ANSWER)
def order_table(request: Request, order_no: str, _: Reader, fmt: TableFormat = None, lang: TableLang = "zh",
                accept: Annotated[str | None, Header()] = None) -> Response:
    """The acceptance table kept with an order (`vpdn order report`)."""
    table = request.app.state.intake.order_table(order_no)
    return table_response(table, f"acceptance-{order_no.strip()}", fmt, accept, lang)
