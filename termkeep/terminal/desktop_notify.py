"""Desktop notifications through the terminal termkeep runs in: the escape sequences.

Terminals read one of three notification escapes: iTerm2's ``OSC 9`` (also WezTerm,
Ghostty, Windows Terminal, ConEmu), kitty's ``OSC 99`` and rxvt-unicode's
``OSC 777;notify`` (also foot, Ghostty, WezTerm, VTE builds that carry the patch). A
terminal that reads two of them would notify twice, so exactly one is sent, picked by
``$TERM_PROGRAM`` and ``$TERM`` (``escape_for``) unless a setting names one. Inside a tmux
that termkeep runs in, the sequence is wrapped in tmux's passthrough (``DCS tmux;``), which
tmux hands to its own terminal only when its ``allow-passthrough`` option is on.

The text is the caller's (a tab label and a fixed phrase); it is cleaned here all the same,
since a label can be a remote title: no control character, no separator of the sequence.
"""

from __future__ import annotations

import re
from enum import StrEnum

ESC = "\x1b"
ST = f"{ESC}\\"
TEXT_LIMIT = 200
"""Characters of a notification's title or body; the rest is cut."""

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f;\u202a-\u202e\u2066-\u2069]")


class Escape(StrEnum):
    """A notification escape sequence (named as the ``notify_via`` setting names it)."""

    OSC9 = "osc9"
    OSC99 = "osc99"
    OSC777 = "osc777"


_BY_TERM_PROGRAM = {
    "iterm.app": Escape.OSC9,
    "wezterm": Escape.OSC9,
    "ghostty": Escape.OSC9,
    "warpterminal": Escape.OSC9,
    "kitty": Escape.OSC99,
}
_BY_TERM_START = (
    ("xterm-kitty", Escape.OSC99),
    ("xterm-ghostty", Escape.OSC9),
    ("wezterm", Escape.OSC9),
    ("foot", Escape.OSC777),
    ("rxvt-unicode", Escape.OSC777),
)


def escape_for(term_program: str | None, term: str | None) -> Escape:
    """The escape a terminal reads, by its ``$TERM_PROGRAM`` (which wins) and ``$TERM``;
    OSC 777 for any other, which terminals that do not know it ignore (xterm included)."""
    by_program = _BY_TERM_PROGRAM.get((term_program or "").lower())
    if by_program is not None:
        return by_program
    term = (term or "").lower()
    for start, escape in _BY_TERM_START:
        if term.startswith(start):
            return escape
    return Escape.OSC777


def clean(text: str) -> str:
    """``text`` fit for a notification: controls and ``;`` (a field separator) become
    spaces, bidi overrides go, at most TEXT_LIMIT characters."""
    return _UNSAFE.sub(" ", text).strip()[:TEXT_LIMIT]


def notification(escape: Escape, title: str, body: str) -> str:
    """The escape sequence that shows ``title`` and ``body`` as a desktop notification."""
    title, body = clean(title), clean(body)
    if escape is Escape.OSC777:
        return f"{ESC}]777;notify;{title};{body}{ST}"
    if escape is Escape.OSC99:
        # One sequence, title only (kitty's simplest form): one escape, one notification.
        return f"{ESC}]99;;{title}: {body}{ST}"
    return f"{ESC}]9;{title}: {body}\x07"


def tmux_passthrough(sequence: str) -> str:
    """``sequence`` wrapped so that a tmux termkeep runs in passes it to its own terminal
    (every ESC inside doubled, as tmux requires)."""
    return f"{ESC}Ptmux;{sequence.replace(ESC, ESC + ESC)}{ST}"
