"""Words an operator reads: counts with their noun in the right number."""


def counted(count: int, noun: str, plural: str = "") -> str:
    """`1 member`, `3 members` (`plural` for nouns that do not take an s)."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def are(count: int) -> str:
    """The verb that goes with a count."""
    return "is" if count == 1 else "are"
