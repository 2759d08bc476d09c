"""One duration formatter, with a precision per place a duration is shown."""

from __future__ import annotations

import pytest

from termkeep.terminal.durations import (
    AGE,
    NOTICE,
    RECORD,
    STATUS,
    DurationStyle,
    duration_text,
    milliseconds_text,
)

CASES = [
    (NOTICE, 0.42, "0.4 s"),
    (NOTICE, 12.4, "12 s"),
    (NOTICE, 130, "130 s"),
    (STATUS, 119.4, "119 s"),
    (STATUS, 300, "5 min"),
    (STATUS, 18_000, "5 h"),
    (RECORD, 0.421, "0.42 s"),
    (RECORD, 12.34, "12.3 s"),
    (RECORD, 245.9, "4 min 5 s"),
    (RECORD, 7_380, "2 h 3 min"),
    (AGE, -3, "0 s"),
    (AGE, 9.9, "9 s"),
    (AGE, 779, "12 min"),
    (AGE, 3 * 3_600 + 300, "3 h 5 min"),
    (AGE, 2 * 86_400 + 4 * 3_600, "2 d 4 h"),
]


@pytest.mark.parametrize(("style", "seconds", "text"), CASES)
def test_each_style_reads_as_its_place_shows_it(
    style: DurationStyle, seconds: float, text: str
) -> None:
    assert duration_text(seconds, style) == text


def test_nothing_measured_is_a_dash() -> None:
    assert duration_text(None, RECORD) == "-"


def test_round_trips_are_whole_milliseconds() -> None:
    assert milliseconds_text(0.0424) == "42 ms"
