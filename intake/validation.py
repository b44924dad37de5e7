"""The intake's small helpers: a model validated or refused, order numbers, number lists."""

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from refusal import Refusal, validation_text


def validated(model: type[BaseModel], fields: Any, within: str = "") -> Any:
    try:
        return model.model_validate(fields)
    except ValidationError as error:
        raise Refusal(validation_text(error, within)) from None


def new_order_no(prefix: str) -> str:
    """An order number GPMS gives when the person gives none: OPN20261203193400329730."""
    return f"{prefix}{datetime.now(UTC):%Y%m%d%H%M%S%f}"


def list_some(first: list[str], count: int) -> str:
    """The first numbers of `count`, and how many more."""
    return " ".join(first) + (f" … and {count - len(first)} more" if count > len(first) else "")
