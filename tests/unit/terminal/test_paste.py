"""Which pastes wait for a question before they reach the remote."""

from __future__ import annotations

import pytest

from termkeep.terminal.paste import PasteCheck, line_count, paste_checks, runs_lines

LINES = PasteCheck.SEVERAL_LINES


@pytest.mark.parametrize(
    ("text", "runs"),
    [
        ("echo hi", False),
        ("echo hi\n", True),  # one line, but the line break presses Enter
        ("ls\nrm -rf ~", True),
        ("ls\r\nwhoami", True),
        ("ls\rwhoami", True),  # the engine's check misses a lone CR; its encoder sends it
        ("tab\tseparated", False),
        ("end marker \x1b[201~ then text", True),  # the engine's own rule
    ],
)
def test_runs_lines(text: str, runs: bool) -> None:
    assert runs_lines(text) is runs


def test_several_lines_ask_only_without_bracketed_paste_and_when_the_user_wants_it() -> None:
    text = "cd /tmp\nrm -rf *\n"
    assert paste_checks(text, bracketed=False, confirm_lines=True) == (LINES,)
    assert paste_checks(text, bracketed=True, confirm_lines=True) == ()
    assert paste_checks(text, bracketed=False, confirm_lines=False) == ()
    assert paste_checks("one line", bracketed=False, confirm_lines=True) == ()


@pytest.mark.parametrize(
    ("text", "count"),
    [("a", 1), ("a\n", 1), ("a\nb", 2), ("a\r\nb\r\n", 2), ("a\rb\rc", 3), ("\n\n", 2)],
)
def test_line_count(text: str, count: int) -> None:
    assert line_count(text) == count
