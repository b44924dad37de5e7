"""What an operator reads: durations and counts in words, a line as staff name it."""

from datetime import timedelta

import pytest

from models.service import DedicatedLine
from models.words import counted, duration_text


@pytest.mark.parametrize("duration, text", [
    (timedelta(seconds=40), "40 s"), (timedelta(minutes=15), "15 min"), (timedelta(hours=4, minutes=30), "4 h 30 min"),
    (timedelta(days=1), "1 day"), (timedelta(days=2, hours=4, seconds=3), "2 days 4 h"), (timedelta(0), "0 s"),
])
def test_durations_read_in_words(duration, text):
    assert duration_text(duration) == text


def test_counts_agree_with_their_noun():
    assert (counted(1, "member"), counted(3, "member")) == ("1 member", "3 members")


def test_a_line_reads_as_its_bandwidth_and_address():
    assert str(DedicatedLine(bandwidth_mbps=500, address="88 Century Avenue")) == "500 Mbit/s at 88 Century Avenue"
