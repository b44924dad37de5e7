"""The order store (GPMS records): one module per kind of record over one engine.

Every write is one transaction and idempotent, so an activity retried after a crash leaves
either the old state or the new one, never both or half. Reads return pydantic views:
table rows never leave this package.
"""

from store.acceptance import AcceptanceRecords
from store.batch_steps import BatchStepRecords
from store.contracts import ContractRecords
from store.correlations import CorrelationRecords
from store.customers import CustomerRecords
from store.engine import engine_for
from store.fallouts import FalloutRecords
from store.member_terms import MemberTermRecords
from store.members import MemberRecords
from store.migrate import SchemaNotCurrent, require_head
from store.notifications import NotificationConflict, NotificationRecords
from store.orders import MembersNotStaged, OrderNumberInUse, OrderRecords, UnknownOrder
from store.passwords import PasswordRecords
from store.services import ServiceRecords, ServiceRefused
from store.staging import StagingConflict, StagingRecords
from store.subscriptions import SubscriptionRecords
from store.tokens import TokenExists, TokenRecords

__all__ = ["MembersNotStaged", "NotificationConflict", "OrderNumberInUse", "OrderStore", "SchemaNotCurrent",
           "ServiceRefused", "StagingConflict", "TokenExists", "UnknownOrder", "engine_for"]


class OrderStore:
    """The GPMS records, by kind: `orders` (and their audit trail), `customers`, `services`
    (and their tariff packages), `contracts` (versioned), `members` (and member orders'
    items), `staging` (member orders' members before they are submitted), `batch_steps` (the
    members each batch step acts on), `terms` (members' plans and dates), `notifications`
    (members' own number changes), `correlations` (the references work orders carry for
    their reports), `passwords` (the secret version of issued passwords), `fallouts`,
    `acceptance` (the acceptance tables kept with orders), `tokens` (the API's bearer tokens,
    hashed), `subscriptions` (order events' listeners and deliveries).

    `pool`: engine_for's pool sizes. Runs no DDL: refuses (SchemaNotCurrent) a database not at the schema version this
    release needs."""

    def __init__(self, url: str, **pool: float) -> None:
        self.engine = engine_for(url, **pool)
        require_head(self.engine)
        self.orders = OrderRecords(self.engine)
        self.customers = CustomerRecords(self.engine)
        self.services = ServiceRecords(self.engine)
        self.contracts = ContractRecords(self.engine)
        self.members = MemberRecords(self.engine)
        self.terms = MemberTermRecords(self.engine)
        self.staging = StagingRecords(self.engine)
        self.notifications = NotificationRecords(self.engine)
        self.passwords = PasswordRecords(self.engine)
        self.correlations = CorrelationRecords(self.engine)
        self.fallouts = FalloutRecords(self.engine)
        self.batch_steps = BatchStepRecords(self.engine)
        self.acceptance = AcceptanceRecords(self.engine)
        self.tokens = TokenRecords(self.engine)
        self.subscriptions = SubscriptionRecords(self.engine)
