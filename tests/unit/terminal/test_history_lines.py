"""The history view's line parser and search: SGR colours in, safe text and styles out."""

from __future__ import annotations

from dataclasses import replace

from termkeep.terminal.emulator import Emulator
from termkeep.terminal.history_lines import (
    MAX_LINE_CHARACTERS,
    HistoryLine,
    line_of_row,
    match_spans,
    search_lines,
)
from termkeep.tmux.sgr import PLAIN, SgrParser, apply_sgr


def styles_of(parser: SgrParser, line: HistoryLine) -> list[tuple[str, object]]:
    bounds = [start for start, _ in line.runs[1:]] + [len(line.text)]
    return [
        (line.text[start:end], parser.styles[index])
        for (start, index), end in zip(line.runs, bounds, strict=True)
    ]


def test_colours_and_attributes_become_cell_styles() -> None:
    parser = SgrParser()
    [line] = parser.parse(
        b"plain \x1b[1;31mbold red\x1b[0m \x1b[38;2;1;2;3;48;5;200mrgb\x1b[39m!\n"
    )
    assert line.text == "plain bold red rgb!"
    runs = styles_of(parser, line)
    assert runs[0] == ("plain ", PLAIN)
    assert runs[1] == ("bold red", replace(PLAIN, bold=True, foreground=1))
    assert runs[2] == (" ", PLAIN)
    assert runs[3] == ("rgb", replace(PLAIN, foreground=(1, 2, 3), background=200))
    assert runs[4] == ("!", replace(PLAIN, background=200))


def test_bright_colours_and_resets() -> None:
    parser = SgrParser()
    [line] = parser.parse(b"\x1b[92;104;4;7mx\x1b[24;27;49my")
    assert styles_of(parser, line) == [
        ("x", replace(PLAIN, foreground=10, background=12, underline=1, inverse=True)),
        ("y", replace(PLAIN, foreground=10)),
    ]


def test_binary_junk_never_leaves_control_characters() -> None:
    junk = bytes(range(256)) * 4 + b"\x1b]0;title\x07\x1b[2J\x1bPdcs\x1b\\tail"
    lines = SgrParser().parse(junk)
    text = "".join(line.text for line in lines)
    assert "tail" in text
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in text), text


def test_a_very_long_line_is_cut() -> None:
    [line] = SgrParser().parse(b"x" * (MAX_LINE_CHARACTERS * 3))
    assert len(line.text) == MAX_LINE_CHARACTERS


def test_tabs_are_expanded() -> None:
    [line] = SgrParser().parse(b"a\tb")
    assert line.text == "a       b"


def test_style_table_is_shared_and_deduplicated() -> None:
    parser = SgrParser()
    parser.parse(b"\x1b[31mx\n\x1b[31my\n\x1b[32mz\n")
    assert len(parser.styles) == 3  # plain, red, green


def test_search_is_smartcase_and_wraps() -> None:
    lines = [HistoryLine(text, ()) for text in ("Alpha", "beta", "alphabet", "gamma")]
    assert search_lines(lines, "alpha", 0, forward=True) == 2
    assert search_lines(lines, "alpha", 2, forward=True) == 0  # wraps to the top
    assert search_lines(lines, "Alpha", 1, forward=True) == 0  # a capital: exact case
    assert search_lines(lines, "alpha", 3, forward=False) == 2
    assert search_lines(lines, "delta", 0, forward=True) is None
    assert match_spans("Alpha alpha", "alpha") == [(0, 5), (6, 11)]
    assert match_spans("Alpha alpha", "Alpha") == [(0, 5)]


def test_emulator_rows_become_lines_with_the_emulators_styles() -> None:
    emulator = Emulator(20, 3, write=lambda _data: None, scrollback_lines=100)
    emulator.feed(b"\x1b[31mred\x1b[0m text\r\n")
    line = line_of_row(emulator.snapshot().rows[0])
    assert line.text == "red text"
    styles = emulator.snapshot().styles
    assert styles[line.runs[0][1]].foreground == 1
    assert styles[line.runs[1][1]].foreground is None


def test_a_five_thousand_digit_parameter_is_capped_not_an_error() -> None:
    parser = SgrParser()
    huge = "9" * 5_000
    [line] = parser.parse(f"\x1b[{huge}mA\x1b[1;{huge};31mB\x1b[38;5;{huge}mC\n".encode())
    assert line.text == "ABC"
    runs = styles_of(parser, line)
    assert runs[0] == ("A", PLAIN)  # no SGR code is that large: ignored
    assert runs[1] == ("B", replace(PLAIN, bold=True, foreground=1))
    assert runs[2] == ("C", replace(PLAIN, bold=True, foreground=255))


def test_leading_zeros_do_not_make_a_parameter_huge() -> None:
    parser = SgrParser()
    [line] = parser.parse(("\x1b[" + "0" * 6_000 + "1mbold\n").encode())
    assert styles_of(parser, line) == [("bold", replace(PLAIN, bold=True))]


def test_apply_sgr_takes_only_ascii_digits() -> None:
    assert apply_sgr(PLAIN, "\u00b2;1") == replace(PLAIN, bold=True)  # '²' is not a parameter
