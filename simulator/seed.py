"""What the provinces' CRMs know before any order: group customers and subscribers.

Seed data is given explicitly, or generated deterministically from a seed number.
"""

import random

from pydantic import BaseModel, Field
from sqlalchemy import Engine, delete, insert, tuple_
from sqlmodel import Session, SQLModel, select

from models.hub import SeedCustomerRecord, SeedData, SeedSubscriber
from models.provinces import PROVINCES, PROVINCE_CODES, check_province
from simulator.db import CustomerRecord, Subscriber

BATCH = 500
NOT_ACTIVE_SHARE = 0.03

_NAME_WORDS = ["Huaxin", "Zhongtai", "Hengda", "Jinlong", "Tianrui", "Xinghai", "Dongfang",
               "Changcheng", "Guotai", "Minsheng", "Yuanhang", "Baoli", "Kaiyuan", "Ruifeng"]
_INDUSTRIES = ["Logistics", "Energy", "Construction", "Pharmaceutical", "Bank", "Insurance",
               "Motors", "Steel", "Retail", "Securities", "Electric Power", "Tobacco"]
_CREDIT_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


class GenerateRequest(BaseModel):
    """How much seed data to generate, and the seed that makes it repeatable."""

    customers: int = Field(default=0, ge=0, le=100_000)
    subscribers: int = Field(default=0, ge=0, le=1_000_000)
    seed: int = 0


def generate(request: GenerateRequest) -> SeedData:
    """Group customers, each with a group record in one province and branch records in 2-6
    others under the same customer code and credit code; subscribers with 11-digit numbers
    (13x/15x/18x) all over the country, about 3% of them not active. Same seed, same data."""
    rng = random.Random(request.seed)
    codes = _unique(request.customers, lambda: str(rng.randrange(10**9, 10**10)))
    customers = [record for code in codes for record in _customer(rng, code)]
    msisdns = _unique(
        request.subscribers, lambda: f"1{rng.choice('358')}{rng.randrange(10**9):09d}"
    )
    subscribers = [
        SeedSubscriber(
            msisdn=msisdn,
            home_province=rng.choice(PROVINCE_CODES),
            status=(
                rng.choice(["suspended", "barred", "cancelled"])
                if rng.random() < NOT_ACTIVE_SHARE
                else "active"
            ),
        )
        for msisdn in msisdns
    ]
    return SeedData(customers=customers, subscribers=subscribers)


def _unique(count: int, draw) -> list[str]:
    drawn: dict[str, None] = {}  # keeps the drawing order
    while len(drawn) < count:
        drawn[draw()] = None
    return list(drawn)


def _customer(rng: random.Random, code: str) -> list[SeedCustomerRecord]:
    name = f"{rng.choice(_NAME_WORDS)} {rng.choice(_INDUSTRIES)} Co., Ltd."
    credit_code = f"91{rng.randrange(10**14, 10**15)}{rng.choice(_CREDIT_CODE_CHARS)}"
    group, *branches = rng.sample(PROVINCE_CODES, 1 + rng.randint(2, 6))
    return [
        SeedCustomerRecord(
            province=group, customer_code=code, name=name, credit_code=credit_code, level="group"
        )
    ] + [
        SeedCustomerRecord(
            province=province,
            customer_code=code,
            name=f"{name} {PROVINCES[province]} Branch",
            credit_code=credit_code,
            level="branch",
        )
        for province in branches
    ]


# Members' names for a members file: the seed knows numbers only; a name is drawn from its number.
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
_GIVEN_NAMES = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
                "超", "秀英", "华", "平", "建国", "晓东", "海燕", "志强"]


def members(data: SeedData, count: int, home_provinces: list[str] | None = None) -> list[tuple[str, str]]:
    """The first `count` active subscribers of the seed data (only those whose home province is
    one of `home_provinces`, when given), each with a name: the lines of a members file, fewer
    when the seed holds fewer. The same number always gets the same name."""
    homes = {check_province(code) for code in home_provinces} if home_provinces else None
    chosen = [
        subscriber.msisdn
        for subscriber in data.subscribers
        if subscriber.status == "active" and (homes is None or subscriber.home_province.upper() in homes)
    ][:count]
    return [(msisdn, _name(msisdn)) for msisdn in chosen]


def _name(msisdn: str) -> str:
    rng = random.Random(msisdn)
    return rng.choice(_SURNAMES) + rng.choice(_GIVEN_NAMES)


def store(engine: Engine, data: SeedData) -> dict[str, int]:
    """Put the seed data in the CRMs, replacing records with the same keys; count them.
    Raises ValueError for an unknown province code."""
    customers = [
        record.model_dump() | {"province": check_province(record.province)}
        for record in data.customers
    ]
    subscribers = [
        subscriber.model_dump() | {"home_province": check_province(subscriber.home_province)}
        for subscriber in data.subscribers
    ]
    with Session(engine) as session, session.begin():
        return {
            "customers": _replace(session, CustomerRecord, customers),
            "subscribers": _replace(session, Subscriber, subscribers),
        }


def _replace(session: Session, table: type[SQLModel], rows: list[dict]) -> int:
    """Insert the rows, replacing those with the same primary key; count the rows kept."""
    key_columns = list(table.__table__.primary_key)
    by_key = {tuple(row[column.key] for column in key_columns): row for row in rows}
    keys, rows = list(by_key), list(by_key.values())
    for start in range(0, len(rows), BATCH):
        batch = slice(start, start + BATCH)
        session.exec(delete(table).where(tuple_(*key_columns).in_(keys[batch])))
        session.exec(insert(table), params=rows[batch])
    return len(rows)


DEMO = GenerateRequest(customers=5, subscribers=2000, seed=2026)


def ensure_demo_data(engine: Engine) -> str:
    """Seed a small demo country when the CRMs know no group customer yet; return the code of
    a customer to try acquiring."""
    with Session(engine) as session:
        known = session.exec(select(CustomerRecord).where(CustomerRecord.level == "group")).first()
    if known is not None:
        return known.customer_code
    data = generate(DEMO)
    store(engine, data)
    return next(record.customer_code for record in data.customers if record.level == "group")
