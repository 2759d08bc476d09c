"""Remote commands for tmux, quoted for any login shell.

sshd runs a command as ``$SHELL -c COMMAND``, and that shell may be fish or csh, whose
quoting differs from sh. So every command is an ``sh -c SCRIPT`` with the script in one pair of
POSIX single quotes, and the script itself is built from ``shlex.quote``-d words. Session
names are sanitised to letters, digits, ``_`` and ``-`` (names.py), so no character that fish
or csh treat specially inside single quotes (backslash, ``!``, newline) can reach the command
line.
"""

from __future__ import annotations

import shlex

_UNPORTABLE_IN_SINGLE_QUOTES = frozenset("\\!\n\r")


def shell_words(*words: str) -> str:
    """One POSIX shell command line: each word quoted with ``shlex.quote``."""
    return " ".join(shlex.quote(word) for word in words)


def remote_command(script: str) -> str:
    """Wrap a POSIX sh script so any login shell (bash, fish, csh, …) runs it the same way.

    Raises ValueError for characters that fish or csh would still interpret inside single
    quotes; the scripts built here never contain them.
    """
    bad = _UNPORTABLE_IN_SINGLE_QUOTES.intersection(script)
    if bad:
        raise ValueError(f"remote script contains characters not portable to every shell: {bad}")
    return shell_words("sh", "-c", script)


def exact_target(session: str) -> str:
    """A ``-t`` target naming exactly ``session``: '=' makes tmux match the whole name; plain
    ``-t NAME`` also matches any name prefix."""
    return f"={session}"
