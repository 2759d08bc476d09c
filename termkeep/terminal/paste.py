"""What a paste goes through before it reaches the remote: the questions, in their order.

A paste into a program that has not turned on bracketed paste (mode 2004) arrives as if
typed, so each line break in it presses Enter: a shell runs every line at once, including
a command hidden in text copied from a web page. Such a paste is confirmed first.

The checks come as an ordered tuple so that a new one takes its place without touching the
others. One is planned: a paste of local file paths will be offered as an upload, and that
offer comes before the question about lines (an upload sends no text at all).
"""

from __future__ import annotations

from enum import Enum


class PasteCheck(Enum):
    """A question a paste waits on before it is sent."""

    SEVERAL_LINES = "several lines"
    """The text holds a line break and the remote reads it as typing: ask before sending."""


def paste_checks(text: str, *, bracketed: bool, confirm_lines: bool) -> tuple[PasteCheck, ...]:
    """The checks ``text`` goes through, in order, before it is pasted.

    ``bracketed``: the remote turned bracketed paste on (the text arrives marked as a paste,
    its escapes made harmless by the encoder). ``confirm_lines``: the user wants the question
    (``paste_confirm = "multiline"``).
    """
    checks: list[PasteCheck] = []
    # An offer to upload pasted local file paths goes here, first, when it comes.
    if confirm_lines and not bracketed and runs_lines(text):
        checks.append(PasteCheck.SEVERAL_LINES)
    return tuple(checks)


def runs_lines(text: str) -> bool:
    """Whether pasting ``text`` as typing would press Enter.

    The engine's own check finds a line feed (and a bracketed paste end marker); a carriage
    return it lets through, and its encoder sends it as it is: Enter too.
    """
    # The engine is loaded with the first tab; the app's start-up must not pay for it here.
    import evp  # noqa: PLC0415

    return not evp.is_paste_safe(text) or "\r" in text


def line_count(text: str) -> int:
    """How many lines a paste holds, as a shell would see them (a final line break ends
    the last line rather than starting another)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()
    return len(lines)
