"""`vpdn customer`: acquiring and showing a group customer; a malformed code or order number is
refused before anything starts."""

import pytest
from typer.testing import CliRunner

from cli import app
from models.customer import CustomerHierarchy, ProvincialCustomerRecord
from settings import Settings
from store import OrderStore

runner = CliRunner()


@pytest.mark.parametrize("code", ["12345", "12345678901", "31000A2345", ""])
def test_malformed_customer_code_is_refused_before_anything_starts(code):
    result = runner.invoke(app, ["--as", "alice", "customer", "acquire", code])

    assert result.exit_code == 2
    assert "customer code must be exactly 10 digits" in result.output


def test_showing_a_customer_not_in_gpms_says_how_to_acquire_it():
    result = runner.invoke(app, ["customer", "show", "3100012345"])

    assert result.exit_code == 1
    assert "vpdn customer acquire 3100012345" in result.output


def test_showing_a_malformed_customer_code_is_refused_without_suggesting_to_acquire_it():
    result = runner.invoke(app, ["customer", "show", "123"])

    assert result.exit_code == 2
    assert result.output == "error: customer code must be exactly 10 digits, got '123'\n"


@pytest.mark.parametrize("code", ["１２３４５６７８９０", "٣١٠٠٠١٢٣٤٥"])
def test_a_customer_code_of_other_than_ascii_digits_is_refused_before_anything_starts(code):
    result = runner.invoke(app, ["--as", "alice", "customer", "acquire", code])

    assert result.exit_code == 2, result.output
    assert "customer code must be exactly 10 digits" in result.output


def test_an_order_number_longer_than_64_characters_is_refused_before_anything_starts():
    result = runner.invoke(app, ["--as", "alice", "customer", "acquire", "3100012345", "--order-no", "A" * 65])

    assert result.exit_code == 2, result.output
    assert "order_no: String should have at most 64 characters" in result.output


def test_the_customer_tree_draws_the_last_branch_apart_from_the_others():
    store = OrderStore(Settings().database_url)
    store.customers.save_customer(CustomerHierarchy(
        customer_code="3100012345", name="Acme Logistics", credit_code="91310000MA1FL0001X", group_province="SH",
        branches=[ProvincialCustomerRecord(province=p, customer_code="3100012345", name=f"Acme {p}",
                                           credit_code="91310000MA1FL0001X", level="branch") for p in ("GD", "BJ")]))

    shown = runner.invoke(app, ["customer", "show", "3100012345"])

    assert [line.strip()[:12] for line in shown.stdout.splitlines() if "branch" in line] == [
        "├─ branch BJ", "└─ branch GD"]
