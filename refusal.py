"""A refusal: an order, decision or question GPMS does not take, with the text the person reads."""

from enum import StrEnum

from pydantic import ValidationError


class RefusalKind(StrEnum):
    invalid = "invalid"  # bad input: a field, a file, a rule of the business
    not_found = "not_found"  # no such order, service, customer, fallout
    conflict = "conflict"  # the order number exists, or the order does not await that decision
    forbidden = "forbidden"  # four eyes: the person who submitted the order may not decide this


class Refusal(Exception):
    """An order or decision GPMS does not take; nothing was started."""

    def __init__(self, text: str, kind: RefusalKind = RefusalKind.invalid) -> None:
        super().__init__(text)
        self.text, self.kind = text, kind


class Unavailable(Exception):
    """The engine (Temporal, the workers) cannot take or answer a request now: nothing is
    wrong with the request, and it may be tried again."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


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
