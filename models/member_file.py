"""Member files (`msisdn[,name]` per line, a header line and blank lines allowed), read as a
stream: a file of a million lines is checked and staged without ever holding its members.

`MemberFile.check()` reads the file once (twice when it is not UTF-8 but GB18030, as Excel
on Chinese Windows writes it) and names every bad line (too long, not text, a malformed
number, a number listed twice); iterating it reads the file again and yields the members in
file order.
"""

import csv
import io
from array import array
from collections.abc import Iterator
from typing import BinaryIO

from models.members import MSISDN, MemberLine

# What a member file may be written in: UTF-8 (with or without Excel's BOM), else GB18030
# (a superset of GBK, Chinese Windows' default).
ENCODINGS = ("utf-8", "gb18030")
NOT_TEXT = "neither UTF-8 nor GB18030 (GBK) text"
MAX_LINE_BYTES = 1000  # a number and a name; anything longer is not a member line
SHOWN_PROBLEMS = 20
HEADERS = ("msisdn", "number", "phone")


class MemberFileError(ValueError):
    """A member file that cannot be taken: every bad line is listed."""


def _raw_lines(stream: BinaryIO) -> Iterator[tuple[int, bytes | None]]:
    """(line number, the line without its end) per line; None for a line longer than the
    limit, which is skipped without being held."""
    stream.seek(0)
    number = 0
    while line := stream.readline(MAX_LINE_BYTES + 1):
        number += 1
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = stream.readline(64 * 1024)
            yield number, None
            continue
        yield number, line.rstrip(b"\r\n")


def _row(number: int, raw: bytes | None, encoding: str) -> tuple[str, str] | str | None:
    """A line as (msisdn, name), or the problem with it, or None for a blank or header line."""
    if raw is None:
        return f"line {number}: longer than {MAX_LINE_BYTES} characters: not a member line"
    try:
        text = raw.decode(encoding).removeprefix("\ufeff")
    except UnicodeDecodeError:
        return f"line {number}: {NOT_TEXT}"
    if not text.strip():
        return None
    try:
        row = next(csv.reader([text]))
    except csv.Error as error:
        return f"line {number}: {error}"
    msisdn = row[0].strip().removeprefix("+86")
    if number == 1 and msisdn.lower() in HEADERS:
        return None
    if not MSISDN.fullmatch(msisdn):
        return f"line {number}: {row[0].strip()[:40]!r} is not an 11-digit mobile number"
    return msisdn, row[1].strip() if len(row) > 1 else ""


class MemberFile:
    def __init__(self, content: bytes | BinaryIO) -> None:
        self._stream = io.BytesIO(content) if isinstance(content, bytes) else content
        # The encoding the file was read in, once checked.
        self.encoding = ENCODINGS[0]

    def check(self) -> int:
        """How many members the file lists, read as UTF-8 or else as GB18030 (`encoding`
        says which). Raises MemberFileError naming every bad line."""
        for encoding in ENCODINGS:
            self.encoding = encoding
            problems, count = self._problems()
            if not any(problem.endswith(NOT_TEXT) for problem in problems):
                break
        if len(problems) == 1:
            raise MemberFileError(f"member file refused: {problems[0]}")
        if problems:
            shown = problems[:SHOWN_PROBLEMS]
            if len(problems) > SHOWN_PROBLEMS:
                shown.append(f"… and {len(problems) - SHOWN_PROBLEMS} more")
            raise MemberFileError(f"member file refused, {len(problems)} bad lines:\n  " + "\n  ".join(shown))
        if not count:
            raise MemberFileError("member file refused: it lists no member")
        return count

    def _problems(self) -> tuple[list[str], int]:
        """Every bad line, and how many members the file lists, read in `encoding`."""
        problems: list[str] = []
        seen: set[int] = set()
        numbers, lines = array("q"), array("q")  # to say where a repeated number was first
        for number, raw in _raw_lines(self._stream):
            row = _row(number, raw, self.encoding)
            if row is None:
                continue
            if isinstance(row, str):
                problems.append(row)
                continue
            msisdn = int(row[0])
            if msisdn in seen:
                first = lines[numbers.index(msisdn)] if len(problems) < SHOWN_PROBLEMS else None
                problems.append(f"line {number}: {row[0]} is listed twice"
                                + (f" (first on line {first})" if first else ""))
                continue
            seen.add(msisdn)
            numbers.append(msisdn)
            lines.append(number)
        return problems, len(seen)

    def __iter__(self) -> Iterator[MemberLine]:
        """The members, in file order (the file is checked first)."""
        for number, raw in _raw_lines(self._stream):
            row = _row(number, raw, self.encoding)
            if isinstance(row, tuple):
                yield MemberLine(msisdn=row[0], name=row[1])
