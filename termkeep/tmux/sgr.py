"""The SGR parser of captured scrollback: ``tmux capture-pane -e`` output in, lines out.

``SgrParser`` reads lines of text with SGR escapes (colours and attributes) that tmux emits at
each style change. Anything else — other escapes, control characters, invalid UTF-8 from
binary junk — is dropped or replaced, never interpreted, so the lines are safe to draw and to
search. Styles are ``CellStyle``s in the parser's own table, so the view draws them exactly as
TerminalView draws the live screen.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from termkeep.terminal.emulator import CellStyle, Colour
from termkeep.terminal.history_lines import MAX_LINE_CHARACTERS, HistoryLine

MAX_PARAMETER = 65_535
"""Larger SGR parameters count as this, as in VTE; a longer digit string is never converted
(Python refuses to turn more than 4,300 digits into an int, and junk may hold millions)."""
_MAX_PARAMETER_DIGITS = len(str(MAX_PARAMETER))

PLAIN = CellStyle(
    foreground=None,
    background=None,
    bold=False,
    faint=False,
    italic=False,
    underline=0,
    blink=False,
    inverse=False,
    invisible=False,
    strikethrough=False,
    overline=False,
)

# CSI with parameters and final byte, OSC/DCS/APC strings, two-byte escapes, then single
# control characters (tab is kept and expanded later).
_ESCAPE = re.compile(
    r"\x1b\[([0-9;:<=>?]*)[ -/]*([@-~])"
    r"|\x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[ -/]*[0-~]?"
    r"|[\x00-\x08\x0a-\x1f\x7f\x80-\x9f]"
)
_ATTRIBUTES_ON = {
    1: {"bold": True},
    2: {"faint": True},
    3: {"italic": True},
    4: {"underline": 1},
    5: {"blink": True},
    7: {"inverse": True},
    8: {"invisible": True},
    9: {"strikethrough": True},
    21: {"underline": 2},
    22: {"bold": False, "faint": False},
    23: {"italic": False},
    24: {"underline": 0},
    25: {"blink": False},
    27: {"inverse": False},
    28: {"invisible": False},
    29: {"strikethrough": False},
    53: {"overline": True},
    55: {"overline": False},
}


class SgrParser:
    """Turns captured bytes into HistoryLines, keeping one style table for all of them."""

    def __init__(self) -> None:
        self.styles: list[CellStyle] = [PLAIN]
        self._index: dict[CellStyle, int] = {PLAIN: 0}

    def parse(self, data: bytes) -> list[HistoryLine]:
        """Each line of ``data`` (newline separated); tmux restarts styles at each line."""
        text = data.decode("utf-8", "replace")
        if text.endswith("\n"):
            text = text[:-1]
        return [self.parse_line(line) for line in text.split("\n")] if text else []

    def parse_line(self, line: str) -> HistoryLine:
        """One line; every line starts in the default style, as tmux prints them."""
        style = PLAIN
        pieces: list[str] = []
        runs: list[tuple[int, int]] = []
        length = 0
        position = 0
        for match in _ESCAPE.finditer(line):
            length = self._add(pieces, runs, line[position : match.start()], style, length)
            position = match.end()
            if match.group(2) == "m":
                style = apply_sgr(style, match.group(1))
        self._add(pieces, runs, line[position:], style, length)
        return HistoryLine("".join(pieces)[:MAX_LINE_CHARACTERS], tuple(runs))

    def _add(
        self,
        pieces: list[str],
        runs: list[tuple[int, int]],
        text: str,
        style: CellStyle,
        length: int,
    ) -> int:
        if not text:
            return length
        text = text.expandtabs(8) if "\t" in text else text
        index = self._style_index(style)
        if not runs or runs[-1][1] != index:
            runs.append((length, index))
        pieces.append(text)
        return length + len(text)

    def _style_index(self, style: CellStyle) -> int:
        index = self._index.get(style)
        if index is None:
            index = self._index[style] = len(self.styles)
            self.styles.append(style)
        return index


def apply_sgr(style: CellStyle, parameters: str) -> CellStyle:
    """``style`` after ``CSI parameters m``."""
    values = [_parameter(part) for part in re.split("[;:]", parameters)]
    index = 0
    while index < len(values):
        code = values[index]
        index += 1
        if code == 0:
            style = PLAIN
        elif code in _ATTRIBUTES_ON:
            style = replace(style, **_ATTRIBUTES_ON[code])  # type: ignore[arg-type]
        elif 30 <= code <= 37 or 90 <= code <= 97:
            style = replace(style, foreground=code - 30 if code < 90 else code - 82)
        elif 40 <= code <= 47 or 100 <= code <= 107:
            style = replace(style, background=code - 40 if code < 100 else code - 92)
        elif code in (38, 48):
            colour, index = _extended_colour(values, index)
            if code == 38:
                style = replace(style, foreground=colour)
            else:
                style = replace(style, background=colour)
        elif code == 39:
            style = replace(style, foreground=None)
        elif code == 49:
            style = replace(style, background=None)
    return style


def _parameter(text: str) -> int:
    """One SGR parameter: empty or not a number is 0, a huge one is MAX_PARAMETER."""
    if not (text.isascii() and text.isdigit()):
        return 0
    digits = text.lstrip("0")
    if len(digits) > _MAX_PARAMETER_DIGITS:
        return MAX_PARAMETER
    return min(int(digits or "0"), MAX_PARAMETER)


def _extended_colour(values: Sequence[int], index: int) -> tuple[Colour, int]:
    """``38;5;N`` or ``38;2;R;G;B`` starting after the 38: the colour and the next index."""
    kind = values[index] if index < len(values) else 0
    if kind == 5 and index + 1 < len(values):
        return min(values[index + 1], 255), index + 2
    if kind == 2 and index + 3 < len(values):
        red, green, blue = (min(value, 255) for value in values[index + 1 : index + 4])
        return (red, green, blue), index + 4
    return None, len(values)
