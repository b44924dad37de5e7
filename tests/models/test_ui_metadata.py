"""The Temporal UI's one-line summary of an order stays within the server's limit."""

from models.provinces import PROVINCE_CODES
from models.ui_metadata import SUMMARY_BYTES, fit, order_metadata


def test_an_order_over_every_province_says_so_in_its_summary():
    summary, details = order_metadata("customer_acquisition", "ACQ-1", "3100012345", list(PROVINCE_CODES),
                                      requested_by="alice")
    assert summary == "customer acquisition · customer 3100012345 · all 31 provinces"
    assert "- **requested by**: alice" in details and "APN" not in details


def test_a_summary_never_passes_the_servers_limit():
    long_apn = "a" * 60 + "." + "b" * 60 + "." + "c" * 60 + ".vpdn"
    summary, _ = order_metadata("service_opening", "OPN-1", "3100012345", list(PROVINCE_CODES[:20]), apn=long_apn)
    assert len(summary.encode()) <= SUMMARY_BYTES
    assert len(fit("省" * 100).encode()) <= SUMMARY_BYTES
