"""What a paste goes through before it reaches the remote: the questions, in their order.

A paste into a program that has not turned on bracketed paste (mode 2004) arrives as if
typed, so each line break in it presses Enter: a shell runs every line at once, including
a command hidden in text copied from a web page. Such a paste is confirmed first.

A paste that is nothing but existing local file paths is what a terminal sends when files
are dropped on it: at a shell prompt it is offered as an upload. That offer comes first,
before the question about lines (an upload sends no text at all).

The checks come as an ordered tuple so that a new one takes its place without touching the
others.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from enum import Enum
from urllib.parse import unquote, urlsplit

MAX_DROPPED_TEXT = 64 * 1024
"""A paste longer than this is text, never looked at as paths (no stat storm on a log)."""
MAX_DROPPED_FILES = 200


class PasteCheck(Enum):
    """A question a paste waits on before it is sent."""

    UPLOAD_FILES = "upload files"
    """The text is only existing local file paths (files dropped on the terminal): offer to
    upload them instead of pasting the text."""
    SEVERAL_LINES = "several lines"
    """The text holds a line break and the remote reads it as typing: ask before sending."""


def paste_checks(
    text: str,
    *,
    bracketed: bool,
    confirm_lines: bool,
    offer_upload: bool = False,
    is_file: Callable[[str], bool] | None = None,
    home: str = "",
) -> tuple[PasteCheck, ...]:
    """The checks ``text`` goes through, in order, before it is pasted.

    ``bracketed``: the remote turned bracketed paste on (the text arrives marked as a paste,
    its escapes made harmless by the encoder). ``confirm_lines``: the user wants the question
    (``paste_confirm = "multiline"``). ``offer_upload``: a paste of local file paths may be
    offered as an upload (``paste_upload = "ask"`` and a shell prompt on screen); ``is_file``
    says whether a path is an existing local file, ``home`` is what ``~`` means.
    """
    checks: list[PasteCheck] = []
    if offer_upload and is_file is not None and dropped_files(text, is_file, home):
        checks.append(PasteCheck.UPLOAD_FILES)
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


def dropped_paths(text: str, home: str = "") -> tuple[str, ...]:
    """The paths ``text`` names if it is nothing but local paths, as terminals paste dropped
    files: quoted (``'/a b/c'``), backslash-escaped (``/a\\ b/c``) or ``file://`` URIs
    (percent-encoded, host empty or ``localhost``), separated by spaces or line breaks.
    Only absolute paths (and ``~/...`` when ``home`` is given) count: a bare word that
    happens to name a file in some directory is text. Empty when the text is anything else.
    """
    if len(text) > MAX_DROPPED_TEXT or "\x00" in text:
        return ()
    try:
        words = shlex.split(text, posix=True)
    except ValueError:  # an unclosed quote: text, not paths
        return ()
    if not words or len(words) > MAX_DROPPED_FILES:
        return ()
    paths = [_local_path(word, home) for word in words]
    if any(path is None for path in paths):
        return ()
    return tuple(path for path in paths if path is not None)


def dropped_files(text: str, is_file: Callable[[str], bool], home: str = "") -> tuple[str, ...]:
    """``dropped_paths``, when every one of them is an existing local file; else empty."""
    paths = dropped_paths(text, home)
    if paths and all(is_file(path) for path in paths):
        return paths
    return ()


def _local_path(word: str, home: str) -> str | None:
    if word.startswith("file:"):
        return _file_uri_path(word)
    if word.startswith("/"):
        return word
    if home and (word == "~" or word.startswith("~/")):
        return home.rstrip("/") + word[1:]
    return None


def _file_uri_path(uri: str) -> str | None:
    """The local path of a ``file:`` URI, or None for another host or a broken URI."""
    parts = urlsplit(uri)
    if parts.scheme != "file" or parts.netloc not in {"", "localhost"} or parts.query:
        return None
    path = unquote(parts.path, errors="surrogateescape")
    return path if path.startswith("/") else None
