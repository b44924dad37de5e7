"""Words an operator reads: counts with their noun in the right number, durations in words."""

from datetime import timedelta


def counted(count: int, noun: str, plural: str = "") -> str:
    """`1 member`, `3 members` (`plural` for nouns that do not take an s)."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def are(count: int) -> str:
    """The verb that goes with a count."""
    return "is" if count == 1 else "are"


def duration_text(duration: timedelta) -> str:
    """`40 s`, `15 min`, `4 h 30 min`, `1 day`, `2 days 4 h`: the two largest units."""
    seconds = int(duration.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [counted(days, "day") if days else "", f"{hours} h" if hours else "", f"{minutes} min" if minutes else "",
             f"{seconds} s" if seconds else ""]
    return " ".join([part for part in parts if part][:2]) or "0 s"
