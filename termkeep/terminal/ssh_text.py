"""Server text on the user's terminal, made safe the way OpenSSH makes it safe.

The headless commands (``termkeep attach``, ``termkeep tunnel``) and the CLI print text that
a server chose: a login banner, a DISCONNECT reason, keyboard-interactive names, instructions
and prompts, a channel-open failure reason, a tmux error. Written raw, such text can clear
the screen (``ESC[2J``), retitle the window (OSC 2), fill the clipboard (OSC 52) or ring the
bell. ``ssh_visible`` is the one function those print sites use; the remote's own session
stream is the only server output that reaches the terminal untouched.

The rules are OpenSSH's (``utf8.c``: printable characters are copied, anything else is shown
byte by byte in ``vis`` octal), so a user sees what ssh would show:

- valid, printable UTF-8 is kept, newline and tab too, so a multi-line banner still reads as
  lines;
- C0 controls (ESC shows as ``\\033``, BEL as ``\\007``), DEL (``\\177``) and C1 controls
  (U+009B shows as its UTF-8 bytes, ``\\302\\233``) are written as octal escapes;
- bytes that were not valid UTF-8 (decoded with ``surrogateescape``) show as their octal.

Two deliberate differences, both stricter than ssh: a carriage return is kept only as part
of a CR LF line end (a lone CR could overwrite a line with other text; ssh lets it through),
and bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) are escaped too,
so server text cannot reorder what the user reads. This module is pure: no I/O, no
dependencies. The app's widgets use ``display_text.safe_text`` instead (symbols, not octal,
suit a status line better).
"""

from __future__ import annotations

import re

_BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"
_ESCAPED = re.compile(f"\r\n|[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff{_BIDI_CONTROLS}]")
_SURROGATE_ESCAPES = range(0xDC80, 0xDD00)
"""Where ``surrogateescape`` puts each byte that was not valid UTF-8 (0x80-0xFF)."""


def _octal(match: re.Match[str]) -> str:
    character = match.group()
    if character == "\r\n":
        return "\n"  # a CR LF line end reads as the line end it is
    code = ord(character)
    if code in _SURROGATE_ESCAPES:
        raw = bytes([code - 0xDC00])
    else:
        raw = character.encode("utf-8", "surrogatepass")
    return "".join(f"\\{byte:03o}" for byte in raw)


def ssh_visible(text: str) -> str:
    """``text`` as ssh would print it: controls and invalid bytes as ``\\ooo`` escapes."""
    return _ESCAPED.sub(_octal, text)


def ssh_visible_bytes(data: bytes) -> str:
    """Raw bytes from a server as ssh would print them (invalid UTF-8 shown in octal)."""
    return ssh_visible(data.decode("utf-8", "surrogateescape"))
