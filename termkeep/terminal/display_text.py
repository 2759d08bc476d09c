"""Text from outside the app made safe to show: no controls, no bidi tricks, bounded length.

A remote title, a server's disconnect reason, a tmux session name or a profile read from a
file can hold anything. Shown as is, a C0/C1 control can move the outer terminal's cursor, a
bidi override (U+202E) can make "evil" read as "live" and one tab pass for another, and a
100 KB string can swamp a notification. ``safe_text`` is the one place that decides what
such text looks like on screen; ``termkeep.ui.plain_text`` wraps it for Textual.

The sanitised form, documented for users in the README:

- C0 controls and DEL become their visible Control Pictures (ESC shows as ``␛``, NUL as
  ``␀``); a newline is kept only where several lines are expected (``multiline``), and a tab
  becomes a space;
- C1 controls (U+0080-U+009F) and lone surrogates become U+FFFD;
- bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) and the invisible
  marks U+200E, U+200F, U+061C are removed, as are zero-width spaces (U+200B, U+2060,
  U+FEFF); joiners (U+200C, U+200D) stay, since emoji and many scripts need them;
- text longer than ``limit`` characters is cut and ends in ``…``.
"""

from __future__ import annotations

import re

DEFAULT_LIMIT = 2000
"""Characters a notification or label shows before it is cut."""

_BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
_ZERO_WIDTH_SPACES = "\u200b\u2060\ufeff"
_REMOVED = _BIDI_CONTROLS + _ZERO_WIDTH_SPACES
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f\ud800-\udfff{_REMOVED}]")
_CONTROL_PICTURES_BASE = 0x2400
_DELETE_PICTURE = "\u2421"
_REPLACEMENT = "\ufffd"
_HEAD_FACTOR = 8


def _shown_as(character: str, multiline: bool) -> str:
    code = ord(character)
    if character in _REMOVED:
        return ""
    if character == "\n" and multiline:
        return "\n"
    if character == "\t":
        return " "
    if code < 0x20:
        return chr(_CONTROL_PICTURES_BASE + code)
    if code == 0x7F:
        return _DELETE_PICTURE
    return _REPLACEMENT  # C1 controls and lone surrogates


def safe_text(text: str, *, limit: int = DEFAULT_LIMIT, multiline: bool = False) -> str:
    """``text`` as it may be shown: controls visible, bidi and zero-width tricks removed,
    at most ``limit`` characters (the last one ``…`` when cut)."""
    if len(text) > limit * _HEAD_FACTOR:
        # Every character shows as at most one, so a bounded head is enough to fill
        # ``limit``, unless it is mostly removed characters; then less shows, which is fine
        # for text that is junk anyway. It keeps a megabyte of junk from costing time.
        text = text[: limit * _HEAD_FACTOR]
    shown = _UNSAFE.sub(lambda match: _shown_as(match.group(), multiline), text)
    if len(shown) > limit:
        return shown[: limit - 1] + "…"
    return shown
