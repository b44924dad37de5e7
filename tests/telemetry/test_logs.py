"""Log lines: one JSON object per event naming the order and the province call, member
numbers masked, and a province's rejection in one line rather than a traceback."""

import json
import logging
import sys

from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from telemetry.logs import JsonLines, MaskedText
from telemetry.metrics import current_call


def record(message: str, error: BaseException | None = None) -> logging.LogRecord:
    exc_info = None
    if error is not None:
        try:
            raise error
        except BaseException:
            exc_info = sys.exc_info()
    line = logging.LogRecord("temporalio.activity", logging.WARNING, __file__, 1, message, (), exc_info)
    line.temporal_activity = {"workflow_id": "vpdn-join-JOIN-0042", "activity_type": "subscribe_members"}
    return line


def test_a_json_line_names_the_order_its_workflow_and_the_province_call():
    token = current_call.set({"province": "GD", "system": "hlr", "operation": "subscribe_members"})
    try:
        line = json.loads(JsonLines().format(record("batch 3 answered")))
    finally:
        current_call.reset(token)

    assert {k: line[k] for k in ("level", "message", "order_no", "workflow_id", "activity", "province", "system")} == {
        "level": "warning", "message": "batch 3 answered", "order_no": "JOIN-0042",
        "workflow_id": "vpdn-join-JOIN-0042", "activity": "subscribe_members", "province": "GD", "system": "hlr"}


def test_member_numbers_are_masked_in_the_message_and_in_a_traceback():
    error = RuntimeError("HLR lost 13912345678")
    for formatter in (JsonLines(), MaskedText("%(message)s")):
        text = formatter.format(record("member 13800138000 refused", error))

        assert "13800138000" not in text and "13912345678" not in text
        assert "138****8000" in text and "139****5678" in text and "Traceback" in text


def test_a_provinces_rejection_is_one_line_not_a_traceback():
    rejection = ApplicationError("province GD line rejected: E6001 duct full", type="ProvinceRejected",
                                 category=ApplicationErrorCategory.BENIGN)

    line = json.loads(JsonLines().format(record("Completing activity as failed", rejection)))

    assert line["error"] == "ProvinceRejected: province GD line rejected: E6001 duct full"
