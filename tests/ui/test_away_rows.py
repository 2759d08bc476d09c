"""Where the away mark's row is now (``away_rows``): its place from the top of the history
does not move while the history grows; each drop of a full history moves it up by a tenth
of the limit, which no size tells, so then every number of drops is a candidate; a row
dropped is gone. The same on a real tmux pane is in tests/integration/test_scrollback.py."""

from __future__ import annotations

from termkeep.session.away import AwayMark
from termkeep.ui.scrollback_source import away_rows


def mark(first_unseen: int, history: int, limit: int) -> AwayMark:
    return AwayMark("while you were away (9 s): 20 lines printed", first_unseen, history, limit)


def test_the_place_stays_while_the_history_grows() -> None:
    # 20 rows above the screen's top of a 100-row history: row 80 from the top.
    assert away_rows(mark(-20, 100, 2000), 100) == [80]
    assert away_rows(mark(-20, 100, 2000), 1799) == [80]


def test_a_row_on_the_screen_then_is_counted_from_the_same_top() -> None:
    assert away_rows(mark(5, 100, 2000), 400) == [105]


def test_a_history_that_may_have_dropped_gives_every_possible_place() -> None:
    # Nine tenths of the limit or more: a drop of 100 rows may have come, or several.
    assert away_rows(mark(-20, 500, 1000), 900) == [480, 380, 280, 180, 80]
    assert away_rows(mark(-20, 500, 1000), 1000) == [480, 380, 280, 180, 80]
    # Smaller than when the mark was taken: something went (a drop, or clear-history).
    assert away_rows(mark(-20, 950, 1000), 920) == [930, 830, 730, 630, 530, 430, 330, 230, 130, 30]


def test_a_row_above_the_history_is_gone() -> None:
    assert away_rows(mark(-120, 100, 2000), 500) == []
    assert away_rows(mark(-960, 950, 1000), 950) == []


def test_a_small_limit_drops_one_row_at_a_time() -> None:
    assert away_rows(mark(-2, 5, 5), 5) == [3, 2, 1, 0]
