"""What staff read: orders, services, customers, fallouts, with the checks of their filters.

The CLI and the API read through here, so a bad filter or an unknown order is refused the
same way (a `Refusal`) whichever door the question came in by.
"""

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from models.customer import CustomerHierarchy, check_customer_code
from models.fallout import FalloutView
from models.members import MemberCounts, MemberResult
from models.orders import MEMBER_ORDER_TYPES, OrderStatus, OrderView
from models.provinces import HQ, PROVINCE_CODES, System
from models.service import ServiceView
from refusal import Refusal, RefusalKind, Unavailable
from store import OrderStore
from models.views import OpenOrder, OrderFilters, OrderList, ServiceDetail, ServiceMember

# What a fallout can name as its failing system: the provinces' systems, a missing report, GPMS.
FALLOUT_SYSTEMS = (*(s.value for s in System), "report", "gpms", "unknown")
AGE_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def province_filter(code: str | None) -> str | None:
    """A province filter, upper-cased; an unknown code is refused with the valid ones."""
    if code is None:
        return None
    upper = code.strip().upper()
    if upper != HQ and upper not in PROVINCE_CODES:
        raise Refusal(f"unknown province {code!r}; valid provinces: {' '.join(PROVINCE_CODES)} {HQ}")
    return upper


def parse_age(text: str | None) -> timedelta | None:
    """`30m`, `4h`, `2d` as a duration."""
    if text is None:
        return None
    number, unit = text[:-1], text[-1:]
    if unit not in AGE_UNITS or not (number.isascii() and number.isdigit()) or len(number) > 6:
        raise Refusal(f"age {text!r} is not like 30m, 4h or 2d")
    return timedelta(**{AGE_UNITS[unit]: int(number)})


def system_filter(system: str | None) -> str | None:
    if system is not None and system not in FALLOUT_SYSTEMS:
        raise Refusal(f"unknown system {system!r}; valid systems: {' '.join(FALLOUT_SYSTEMS)}")
    return system


class Reads:
    def __init__(self, store: OrderStore, connect: Callable[[], Awaitable[Client]]) -> None:
        self._store = store
        self._connect = connect

    # Orders

    def order(self, order_no: str) -> OrderView:
        order = self._store.orders.get_order(order_no.strip())
        if order is None:
            raise Refusal(f"no order {order_no}; list them with `vpdn order list`", RefusalKind.not_found)
        return order

    async def status(self, order: OrderView) -> OrderStatus:
        """The order workflow's live status (its `status` query); for an order still queued
        on its service, or whose workflow cannot answer now (its task failing or retried on a
        loaded worker), what the order store says."""
        client = await self._connect()
        try:
            return await client.get_workflow_handle(order.workflow_id).query("status", result_type=OrderStatus)
        except WorkflowQueryFailedError:
            return OrderStatus(order_no=order.order_no, order_type=order.order_type, state=order.state,
                               sub_state=order.sub_state)
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise Unavailable(f"order {order.order_no}'s workflow did not answer ({error.message}): are the "
                                  "workers running?") from None
            return OrderStatus(order_no=order.order_no, order_type=order.order_type, state=order.state,
                               sub_state=order.sub_state)

    def member_counts(self, order: OrderView) -> MemberCounts | None:
        """A member order's members by where they stand (None for other orders)."""
        if order.order_type not in MEMBER_ORDER_TYPES:
            return None
        return self._store.members.item_counts(order.order_no)

    def orders(self, filters: dict[str, Any], limit: int) -> OrderList:
        """Orders, newest first, and how many match; `filters` as typed (`older_than` like
        4h, a province code in any case)."""
        checked = OrderFilters(**{**filters, "province": province_filter(filters.get("province")),
                                  "unchanged_for": parse_age(filters.get("older_than"))})
        if limit < 1:
            raise Refusal(f"limit {limit}: at least 1")
        query = checked.model_dump()
        found = self._store.orders.list_orders(**query, limit=limit)
        total = len(found) if len(found) < limit else self._store.orders.count_orders(**query)
        return OrderList(orders=found, total=total)

    def members(self, order_no: str, state: str | None = None) -> list[MemberResult]:
        """Per-member results of a member order."""
        return self._store.members.member_results(self.order(order_no).order_no, state)

    # Services and customers

    def service(self, service_id: str) -> ServiceView:
        service = self._store.services.get_service(service_id.strip())
        if service is None:
            raise Refusal(f"no service {service_id}", RefusalKind.not_found)
        return service

    def service_detail(self, service_id: str) -> ServiceDetail:
        service = self.service(service_id)
        open_orders = [OpenOrder(**o.model_dump()) for o in self._store.orders.open_orders(service.service_id)]
        return ServiceDetail(**service.model_dump(), open_orders=open_orders,
                             members_by_home_province=self._store.members.count_by_home(service.service_id))

    def service_members(self, service_id: str) -> list[ServiceMember]:
        """The members now in a VPDN, with their home provinces and member plans."""
        service = self.service(service_id)
        homes = self._store.members.member_homes(service.service_id)
        plans = self._store.terms.plans(service.service_id)
        return [ServiceMember(msisdn=m, home_province=p, plan=plans.get(m)) for m, p in sorted(homes.items())]

    def customer(self, customer_code: str) -> CustomerHierarchy:
        try:
            customer_code = check_customer_code(customer_code)
        except ValueError as malformed:  # no `acquire` to suggest: it would be refused too
            raise Refusal(str(malformed)) from None
        hierarchy = self._store.customers.get_customer(customer_code)
        if hierarchy is None:
            raise Refusal(f"customer {customer_code} is not in GPMS; acquire it with `vpdn customer acquire "
                          f"{customer_code}`", RefusalKind.not_found)
        return hierarchy

    # Fallouts

    def fallouts(self, province: str | None = None, system: str | None = None,
                 resolved_too: bool = False) -> list[FalloutView]:
        """The fallout worklist, oldest first: open fallouts (resolved ones too if asked)."""
        return self._store.fallouts.list_fallouts(province=province_filter(province), system=system_filter(system),
                                                  state=None if resolved_too else "open")
