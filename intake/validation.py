"""How the intake words what it will not take: pydantic's errors in the operator's words."""

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from refusal import Refusal


def validation_text(error: ValidationError, within: str = "") -> str:
    """A pydantic error as an operator reads it: `field: what is wrong`, one per problem
    (fields named `within.field` for a part of a larger input)."""
    return "; ".join(
        (".".join(str(part) for part in ([within] if within else []) + list(e["loc"])) + ": "
         if e["loc"] or within else "")
        + problem_text(e)
        for e in error.errors()
    )


def problem_text(problem: dict) -> str:
    """One problem in the CLI's words, not the validation library's."""
    if problem["type"] in ("literal_error", "enum"):
        return f"{problem['input']!r} is not one of {problem['ctx']['expected'].replace(chr(39), '')}"
    if problem["type"] == "missing":
        return "is required"
    return problem["msg"].removeprefix("Value error, ")


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
