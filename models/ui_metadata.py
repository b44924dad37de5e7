"""What the Temporal UI shows of an order before anyone opens it: its static summary (one
line in the workflow list) and static details (markdown on the workflow's page), given at
start.

Both are stored unencrypted in the history and shown to everyone who can see the namespace:
business identifiers only (order type and number, customer code, APN or service, provinces,
the operator who requested it), never a member number, a name, a credit code or an address.
"""

from typing import NamedTuple

from models.provinces import PROVINCE_CODES

# The server refuses a static summary longer than this (in UTF-8 bytes).
SUMMARY_BYTES = 200


class OrderMetadata(NamedTuple):
    summary: str
    details: str


def provinces_text(provinces: list[str]) -> str:
    """`GD SH BJ`, or `all 31 provinces`."""
    if len(provinces) == len(PROVINCE_CODES) and set(provinces) == set(PROVINCE_CODES):
        return f"all {len(PROVINCE_CODES)} provinces"
    return " ".join(provinces) if provinces else "no province"


def fit(text: str, limit: int = SUMMARY_BYTES) -> str:
    """The text cut (with `…`) to at most `limit` UTF-8 bytes."""
    if len(text.encode()) <= limit:
        return text
    cut = text.encode()[:limit - len("…".encode())].decode(errors="ignore")
    return cut + "…"


def order_metadata(order_type: str, order_no: str, customer_code: str, provinces: list[str], *,
                   apn: str | None = None, service_id: str | None = None,
                   requested_by: str | None = None) -> OrderMetadata:
    """The static summary and details of one order."""
    kind = str(order_type).replace("_", " ")
    where = [f"APN {apn}"] if apn else [f"service {service_id}"] if service_id else []
    parts = [kind, f"customer {customer_code}", *where]
    summary = " · ".join([*parts, provinces_text(provinces)])
    if len(summary.encode()) > SUMMARY_BYTES:
        summary = " · ".join([*parts, f"{len(provinces)} provinces"])
    rows = [("order", order_no), ("type", kind), ("customer code", customer_code),
            ("APN", apn), ("service", service_id), ("provinces", provinces_text(provinces)),
            ("requested by", requested_by)]
    details = f"**{kind}** {order_no}\n\n" + "\n".join(
        f"- **{label}**: {value}" for label, value in rows if value)
    return OrderMetadata(fit(summary), details)
