"""Logs: one line per event. As JSON (`VPDN_LOG_FORMAT=json`, the default when the output is
not a terminal) each line names the order, its workflow and the province and system called;
member numbers are masked (`138****5678`) in every line, traceback included."""

import json
import logging
import re
import sys
from datetime import UTC, datetime

from temporalio import activity, workflow
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from models.orders import WORKFLOW_ID_PREFIX
from telemetry.metrics import current_call

MSISDN = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
# Loggers that log every request at INFO: their lines say nothing an operator needs.
CHATTY = ("httpx", "httpcore", "uvicorn.access")
_PREFIXES = tuple(f"{prefix}-" for prefix in (*WORKFLOW_ID_PREFIX.values(), "vpdn-service"))


def masked(text: str) -> str:
    """A text with every mobile number masked as operators' logs show them."""
    return MSISDN.sub(r"\1****\2", text)


def order_no_of(workflow_id: str) -> str | None:
    """The order (or service) number a workflow id stands for."""
    return next((workflow_id.removeprefix(p) for p in _PREFIXES if workflow_id.startswith(p)), None)


def error_text(error: BaseException | None) -> str | None:
    """A benign failure (a province's rejection, a retried fault) in one line: business as
    usual has no traceback. None for anything else."""
    if isinstance(error, ApplicationError) and error.category == ApplicationErrorCategory.BENIGN:
        return f"{error.type}: {error.message}"
    return None


class OneLineForBenign(logging.Formatter):
    def formatException(self, exc_info) -> str:  # noqa: N802 - logging's name
        return error_text(exc_info[1]) or super().formatException(exc_info)


class JsonLines(OneLineForBenign):
    def format(self, record: logging.LogRecord) -> str:
        temporal = getattr(record, "temporal_activity", None) or getattr(record, "temporal_workflow", None) or {}
        line = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                "level": record.levelname.lower(), "logger": record.name, "message": masked(record.getMessage())}
        if workflow_id := temporal.get("workflow_id"):
            line.update(workflow_id=workflow_id, order_no=order_no_of(workflow_id))
        if activity_type := temporal.get("activity_type"):
            line["activity"] = activity_type
        line.update(current_call.get() or {})
        if record.exc_info:
            line["error"] = masked(self.formatException(record.exc_info))
        return json.dumps({k: v for k, v in line.items() if v is not None}, ensure_ascii=False)


class MaskedText(OneLineForBenign):
    def format(self, record: logging.LogRecord) -> str:
        return masked(super().format(record))


def configure_logging(log_format: str, level: str) -> None:
    """Log `level` and above to stderr as `text` or `json` (`auto`: text on a terminal)."""
    as_json = log_format == "json" or (log_format == "auto" and not sys.stderr.isatty())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if as_json else MaskedText("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in CHATTY:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    # The JSON line carries the workflow's and activity's details as fields, not in the text.
    workflow.logger.workflow_info_on_message = activity.logger.activity_info_on_message = not as_json
