"""The custom search attributes operators filter orders by in the Temporal UI.

Registered by `vpdn setup` (and `vpdn up`); no personal data (MSISDNs, passwords) ever goes here.
"""

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

ORDER_TYPE = SearchAttributeKey.for_keyword("VpdnOrderType")
ORDER_STATE = SearchAttributeKey.for_keyword("VpdnOrderState")
CUSTOMER_CODE = SearchAttributeKey.for_keyword("VpdnCustomerCode")
PROVINCES = SearchAttributeKey.for_keyword_list("VpdnProvinces")
# True while a province's completion report is overdue (past its SLA).
JEOPARDY = SearchAttributeKey.for_bool("VpdnJeopardy")

ALL = (ORDER_TYPE, ORDER_STATE, CUSTOMER_CODE, PROVINCES, JEOPARDY)


def for_new_order(order_type: str, customer_code: str, provinces: list[str]) -> TypedSearchAttributes:
    """An order's attributes when it starts: acknowledged, not in jeopardy."""
    return TypedSearchAttributes([
        SearchAttributePair(ORDER_TYPE, order_type),
        SearchAttributePair(ORDER_STATE, "acknowledged"),
        SearchAttributePair(CUSTOMER_CODE, customer_code),
        SearchAttributePair(PROVINCES, provinces),
        SearchAttributePair(JEOPARDY, False),
    ])
