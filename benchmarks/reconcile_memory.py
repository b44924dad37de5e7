"""Reconciliation's memory against a province's holdings: N members of one VPDN at home in GD
(their HLR subscriptions and member billing there, their AAA accounts in SH), with the
provinces' simulator in this process; one comparison (`vpdn reconcile`'s, without the
simulator-only checks) is timed and its peak Python allocation traced (tracemalloc: the
simulator's share of each page read is in it too). The members are written straight into
the order store and the simulator (not timed).

    .venv/bin/python benchmarks/reconcile_memory.py --members 2000 20000 --page-size 500
"""

import argparse
import asyncio
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import httpx
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models.customer import CustomerHierarchy  # noqa: E402
from models.service import ServiceRegistration  # noqa: E402
from reconcile import Reconciler  # noqa: E402
from settings import Settings  # noqa: E402
from simulator.app import create_app  # noqa: E402
from store import OrderStore  # noqa: E402
from store.engine import engine_for  # noqa: E402
from store.migrate import upgrade  # noqa: E402
from store.tables import Member  # noqa: E402

SERVICE, CUSTOMER, BATCH = "SVC-REC", "3100012345", 1000


async def one_run(count: int, page_size: int) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="vpdn-reconcile-"))
    settings = Settings(data_dir=folder)
    upgrade(engine_for(settings.database_url))
    store = OrderStore(settings.database_url)
    store.customers.save_customer(CustomerHierarchy(customer_code=CUSTOMER, name="Acme", group_province="SH",
                                                    credit_code="91310000MA1FL0001X"))
    store.services.register_service(ServiceRegistration(
        order_no="OPN-REC", service_id=SERVICE, customer_code=CUSTOMER, apn="rec.vpdn", access_province="SH",
        paying_province="SH", provinces=["SH", "GD"], tariff={"name": "t", "parameters": {"monthly_fee": "1", "member_fee": "1"}}))
    store.services.set_service_state(SERVICE, "active")
    numbers = [f"138{n:08d}" for n in range(count)]
    with store.engine.begin() as connection:
        connection.execute(insert(Member), [{"service_id": SERVICE, "msisdn": m, "home_province": "GD",
                                             "state": "active", "name": ""} for m in numbers])
    app = create_app(settings)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=settings.hub_url, timeout=600) as hub:
        for start in range(0, count, BATCH):
            batch = [{"msisdn": m, "password_hash": "x"} for m in numbers[start:start + BATCH]]
            for province, system, operation in (("GD", "hlr", "subscribe_vpdn_batch"),
                                                ("GD", "billing", "open_members_batch"),
                                                ("SH", "aaa", "create_accounts_batch")):
                (await hub.post(f"/v1/provinces/{province}/{system}/{operation}", json={
                    "idempotency_key": f"{operation}-{start}",
                    "payload": {"service_id": SERVICE, "apn": "rec.vpdn", "members": batch}})).raise_for_status()
        reconciler = Reconciler(store, hub, simulator_checks=False, page_size=page_size)
        tracemalloc.start()
        began = time.perf_counter()
        found = await reconciler.differences()
        seconds = time.perf_counter() - began
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return {"members": count, "page_size": page_size, "differences": len(found), "pages": reconciler.pages_read,
            "seconds": round(seconds, 1), "peak_mib": round(peak / 2**20, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--page-size", type=int, default=500)
    arguments = parser.parse_args()
    for count in arguments.members:
        print(asyncio.run(one_run(count, arguments.page_size)), flush=True)


if __name__ == "__main__":
    main()
