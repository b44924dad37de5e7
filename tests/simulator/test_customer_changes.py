"""A simulated provincial CRM changes its record of a group customer and pushes the change to
GPMS (客户信息同步), each change with the record's next version."""

import uuid

import pytest

from models.customer import CustomerChange
from simulator import create_app

CUSTOMER = "4400012345"
CREDIT_CODE = "91440300MA5ABCDE1X"


class RecordingChanges:
    """Stands in for GPMS's door: records each customer change delivered."""

    def __init__(self) -> None:
        self.delivered: list[CustomerChange] = []

    async def __call__(self, change: CustomerChange) -> None:
        self.delivered.append(change)


@pytest.fixture
def changes() -> RecordingChanges:
    return RecordingChanges()


@pytest.fixture
def app(settings, sink, changes):
    app = create_app(settings, report_sink=sink, change_sink=changes)
    yield app
    app.state.engine.dispose()


@pytest.fixture
async def seeded(client):
    (await client.post("/admin/seed", json={"customers": [
        {"province": "SH", "customer_code": CUSTOMER, "name": "Acme", "credit_code": CREDIT_CODE, "level": "group"},
        {"province": "GD", "customer_code": CUSTOMER, "name": "Acme GD", "credit_code": CREDIT_CODE},
    ]})).raise_for_status()


async def crm_record(client, province: str) -> dict | None:
    """What the province's CRM now answers for the customer (a fresh key: not a repeated call)."""
    body = {"idempotency_key": str(uuid.uuid4()), "payload": {"customer_code": CUSTOMER}}
    response = await client.post(f"/v1/provinces/{province}/crm/query_group_customer", json=body)
    return response.json()["data"]["record"]


async def test_each_change_bumps_the_records_version_and_is_delivered_to_gpms(client, seeded, changes):
    first = await client.post(f"/admin/customers/{CUSTOMER}/changes", json={"province": "GD", "name": "Acme South"})
    second = await client.post(f"/admin/customers/{CUSTOMER}/changes", json={"province": "gd", "name": "Acme GZ"})

    assert first.status_code == second.status_code == 200
    assert [(c.province, c.version, c.name, c.credit_code, c.level, c.deleted) for c in changes.delivered] == [
        ("GD", 2, "Acme South", CREDIT_CODE, "branch", False),
        ("GD", 3, "Acme GZ", CREDIT_CODE, "branch", False),
    ]
    assert second.json() == changes.delivered[-1].model_dump()
    assert (await crm_record(client, "GD"))["name"] == "Acme GZ"


async def test_a_new_record_is_version_one_and_a_deleted_one_is_gone_from_the_crm(client, seeded, changes):
    await client.post(f"/admin/customers/{CUSTOMER}/changes", json={"province": "ZJ", "name": "Acme ZJ"})
    await client.post(f"/admin/customers/{CUSTOMER}/changes", json={"province": "GD", "deleted": True})

    assert [(c.province, c.version, c.credit_code, c.deleted) for c in changes.delivered] == [
        ("ZJ", 1, CREDIT_CODE, False), ("GD", 2, CREDIT_CODE, True)]
    assert (await crm_record(client, "ZJ"))["name"] == "Acme ZJ"
    assert await crm_record(client, "GD") is None


async def test_a_change_that_cannot_be_made_is_refused_and_nothing_is_sent(client, seeded, changes):
    unknown_province = await client.post(f"/admin/customers/{CUSTOMER}/changes", json={"province": "XX"})
    nameless = await client.post(f"/admin/customers/{CUSTOMER}/changes", json={"province": "ZJ"})
    nothing_to_delete = await client.post(f"/admin/customers/{CUSTOMER}/changes",
                                          json={"province": "ZJ", "deleted": True})

    assert (unknown_province.status_code, nameless.status_code, nothing_to_delete.status_code) == (422, 422, 404)
    assert "give a name" in nameless.json()["text"]
    assert changes.delivered == []
