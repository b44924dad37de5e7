"""Finishing a large join on PostgreSQL reads each member's index entry, not every member of
the service once per member: with no statistics of the member tables, an anti-join on the
table being written read the service's rows per row inserted, its own new rows included
(9 million index entries for these 3 000 members, 100 million for 10 000)."""

import time

import pytest
from sqlalchemy import text

from store import OrderStore
from store.engine import engine_for
from tests.conftest import POSTGRES_URL, database_beside
from tests.helpers import migrated
from tests.test_store import HOMES, big_service, member_order, numbers, run_batches

MEMBERS = 3000
READS = text("SELECT coalesce(sum(idx_tup_read), 0) FROM pg_stat_user_indexes "
             "WHERE relname IN ('member', 'member_terms')")
OTHERS = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")


def index_entries_read(url: str) -> int:
    """Index entries read on the member tables so far. A connection's statistics reach the
    server as it ends: only this test connects to its database, and the store's connections
    are closed first, so the count is read once no other connection is left."""
    engine = engine_for(url)
    try:
        with engine.connect() as connection:
            for _ in range(300):
                if not connection.execute(OTHERS).scalar_one():
                    break
                time.sleep(0.1)
            connection.execute(text("SELECT pg_stat_clear_snapshot()"))
            return connection.execute(READS).scalar_one()
    finally:
        engine.dispose()


@pytest.mark.skipif(not POSTGRES_URL, reason="VPDN_TEST_POSTGRES_URL is not set: PostgreSQL store tests skipped")
def test_finishing_a_join_of_3000_members_reads_each_members_index_entry_not_the_whole_service_per_member():
    url = migrated(database_beside(POSTGRES_URL, "index_reads"))  # a database of its own: its statistics are this test's
    order_store = OrderStore(url)
    big_service(order_store)
    assert order_store.staging.stage("JOIN-BIG", "VPDN-BIG", "join", numbers(MEMBERS))
    member_order(order_store, "JOIN-BIG", "join")
    page = order_store.members.page_numbers("JOIN-BIG", 0, MEMBERS)
    order_store.members.record_results("JOIN-BIG", {m: ("valid", None, "") for m in page},
                                       homes={m: HOMES[int(m) % len(HOMES)] for m in page})
    run_batches(order_store, "JOIN-BIG")
    order_store.engine.dispose()  # the member tables as migrated() left them: emptied, no statistics
    before = index_entries_read(url)

    order_store.members.finish_members("JOIN-BIG", "VPDN-BIG", "join")
    order_store.terms.record_joined("JOIN-BIG", "VPDN-BIG", [])
    order_store.engine.dispose()
    read = index_entries_read(url) - before

    assert order_store.members.member_count("VPDN-BIG") == MEMBERS
    assert len(order_store.terms.terms("VPDN-BIG")) == MEMBERS
    assert read < 10 * MEMBERS  # 9 000 000 before
