"""The roles of the people and systems that act on GPMS (the domain page's parties)."""

from enum import StrEnum


class Role(StrEnum):
    account_manager = "account_manager"  # submits orders, confirms rental starts for the customer
    hq_auditor = "hq_auditor"  # approves or rejects business audits
    operator = "operator"  # resolves fallouts and held compensations, cancels orders
    viewer = "viewer"  # reads
    hub = "hub"  # delivers the provinces' reports and CRM messages
    admin = "admin"  # manages tokens
