"""A tariff change's refusals, in words an account manager can act on."""

import pytest

from models.service import TariffPackage
from models.service_changes import TariffChange, TariffChangeRefused, apply_tariff_change

CURRENT = TariffPackage(name="Kaiyuan 2026", parameters={"monthly_fee": "3000", "member_fee": "8"},
                        discounts={"loyalty": "0.95"})


@pytest.mark.parametrize("change, refusal", [
    ({"new_discounts": {"loyalty": "0.9"}},
     'new but already in the current package (change it under "discounts"): discount loyalty'),
    ({"parameters": {"bogus": "1"}, "new_discounts": {"loyalty": "0.9"}},
     'unknown in the current package: parameter bogus; '
     'new but already in the current package (change it under "discounts"): discount loyalty'),
    ({"discounts": {"volume": "0.9"}}, "unknown in the current package: discount volume"),
])
def test_a_new_discount_that_exists_is_not_called_unknown(change, refusal):
    with pytest.raises(TariffChangeRefused) as refused:
        apply_tariff_change(CURRENT, TariffChange(**change))

    assert str(refused.value) == refusal
