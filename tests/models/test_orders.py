"""The order life cycle rules (TMF641) and customer identification."""

import pytest

from models.customer import CustomerNotIdentified, ProvincialCustomerRecord, identify_customer
from models.orders import TERMINAL_STATES, InvalidTransition, OrderState, check_transition, roll_up


@pytest.mark.parametrize("items, expected", [
    ([OrderState.completed, OrderState.in_progress], OrderState.in_progress),
    ([OrderState.failed, OrderState.failed], OrderState.failed),
    ([OrderState.completed, OrderState.failed], OrderState.partial),
    ([OrderState.completed, OrderState.completed], OrderState.completed),
])
def test_an_order_rolls_up_from_its_items(items, expected):
    assert roll_up(items) == expected


@pytest.mark.parametrize("terminal", sorted(TERMINAL_STATES))
def test_a_terminal_order_never_moves_again(terminal):
    with pytest.raises(InvalidTransition):
        check_transition(terminal, OrderState.in_progress)


def test_held_order_may_resume_or_fail_but_not_complete_directly():
    check_transition(OrderState.held, OrderState.in_progress)
    check_transition(OrderState.held, OrderState.failed)
    with pytest.raises(InvalidTransition):
        check_transition(OrderState.held, OrderState.completed)


def rec(province: str, level: str = "branch", credit: str = "C1") -> ProvincialCustomerRecord:
    return ProvincialCustomerRecord(province=province, customer_code="3100012345", name=f"Acme {province}",
                                    credit_code=credit, level=level)


def test_identification_needs_exactly_one_group_record():
    with pytest.raises(CustomerNotIdentified, match="found GD, SH"):
        identify_customer("3100012345", [rec("SH", "group"), rec("GD", "group")])
    with pytest.raises(CustomerNotIdentified, match="found no province"):
        identify_customer("3100012345", [rec("GD")])
    with pytest.raises(CustomerNotIdentified, match="no province knows"):
        identify_customer("3100012345", [])


def test_identification_splits_branches_from_other_enterprises():
    hierarchy = identify_customer("3100012345", [rec("ZJ", credit="C2"), rec("GD"), rec("SH", "group")])
    assert hierarchy.group_province == "SH"
    assert [b.province for b in hierarchy.branches] == ["GD"]
    assert [c.province for c in hierarchy.conflicts] == ["ZJ"]
    assert hierarchy.provinces == ["GD", "SH"]
