"""The remote commands that run the tab's tmux session, quoted for any login shell.

sshd runs a command as ``$SHELL -c COMMAND``, and that shell may be fish or csh, whose
quoting differs from sh. So every command is an ``sh -c SCRIPT`` with the script in one pair of
POSIX single quotes, and the script itself is built from ``shlex.quote``-d words. Session
names are sanitised to letters, digits, ``_`` and ``-``, so no character that fish or csh treat
specially inside single quotes (backslash, ``!``, newline) can reach the command line.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from enum import IntEnum, StrEnum

SESSION_NAME_MAX = 640
"""Long enough that a profile's default name (at most 522 characters, see
``config.profile.default_tmux_session``) with a tab's ``-<N>`` is never cut, so a second
tab's session name never collapses onto the first's."""
FALLBACK_SESSION_NAME = "termkeep"

_UNSAFE_SESSION_CHARS = re.compile(r"[^A-Za-z0-9_-]+")
_UNPORTABLE_IN_SINGLE_QUOTES = frozenset("\\!\n\r")


class ProbeResult(IntEnum):
    """Exit status of ``probe_command``."""

    EXISTS = 0
    """tmux is installed and the session exists."""
    ABSENT = 1
    """tmux is installed; the session does not exist (or no tmux server runs)."""
    NO_TMUX = 127
    """tmux is not installed (the shell's 'command not found' status)."""


def sanitize_session_name(name: str) -> str:
    """A tmux session name that tmux keeps as is and every shell passes through unchanged.

    tmux itself rewrites ``.`` and ``:`` to ``_`` (they separate window and pane in a
    target); everything else outside ``[A-Za-z0-9_-]`` is replaced too, and a leading ``-``
    is dropped so the name can never look like an option.
    """
    cleaned = _UNSAFE_SESSION_CHARS.sub("_", name).lstrip("-")[:SESSION_NAME_MAX]
    return cleaned or FALLBACK_SESSION_NAME


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


def _exact_target(session: str) -> str:
    # '=' makes tmux match the whole name; plain -t NAME also matches any name prefix.
    return f"={session}"


def probe_command(session: str) -> str:
    """Exit status says whether tmux exists and whether ``session`` is running
    (see ``ProbeResult``). Prints nothing, so nothing reaches the screen."""
    script = "; ".join(
        (
            f"command -v tmux >/dev/null 2>&1 || exit {ProbeResult.NO_TMUX.value}",
            shell_words("exec", "tmux", "has-session", "-t", _exact_target(session))
            + " 2>/dev/null",
        )
    )
    return remote_command(script)


def attach_command(session: str) -> str:
    """Attach to ``session``, creating it first if it does not exist.

    ``-u``: termkeep's terminal is always UTF-8, but sshd rarely passes a UTF-8 locale on,
    and without one the tmux client draws every non-ASCII character as ``_``.
    """
    return remote_command(shell_words("exec", "tmux", "-u", "new-session", "-A", "-s", session))


class AttachReport(StrEnum):
    """What ``reporting_attach_command`` found before it started tmux."""

    EXISTED = "existed"
    """The session was running: tmux reattaches it (same programs, same screen)."""
    NEW = "new"
    """No such session: tmux creates it."""
    NO_TMUX = "notmux"
    """tmux is not installed; the command exits with ``ProbeResult.NO_TMUX``."""


REPORT_LIMIT = 1024 * 1024
"""Bytes the server may send before the report before the attach counts as broken: a chatty
shell startup file, and tmux's first drawing of the screen (the report of a session that
existed comes after it; a dense 240x60 screen in colour is well over 64 KiB)."""


REPORT_PREFIX = "termkeep-attach:"


def _report_line(nonce: str, report: str) -> str:
    return f"echo {REPORT_PREFIX}{nonce}:{report}"


def reporting_attach_command(session: str, nonce: str, adopt: str | None = None) -> str:
    """Attach to ``session`` (creating it if needed) in one command that also prints which
    it was, so the tmux probe costs no round trip of its own.

    The report is one line, ``termkeep-attach:<nonce>:<AttachReport>``;
    ``AttachReportScanner`` takes it out of the stream before the emulator sees it. ``nonce``
    (hex digits, new for every attach) keeps a startup file's output from passing for a
    report. Without tmux the report is ``notmux`` and the command exits 127.

    The shell finds the answer before tmux starts, but tmux itself prints it, from a
    ``run-shell`` queued after the attach and written straight to the client's terminal. A
    line echoed before ``exec tmux`` is lost whenever sshd has not read it yet when the tmux
    client starts: tmux flushes its terminal's pending output (``tcflush(TCOFLUSH)`` in
    ``tty_start_tty``), and on a pty that drops what the other side has not read. On a busy
    server (30 tabs reattaching at once) that happened to one attach in ten, which then hung
    until the probe was given up.

    ``adopt``: the name this session had before names were made distinct (see
    ``tmux_sessions.adoptable_legacy_base``). When ``session`` does not exist but ``adopt``
    does, that one is renamed to ``session`` and attached: the user's running programs are
    found again, and from then on the session has its new name.
    """
    if not re.fullmatch(r"[0-9a-f]{1,64}", nonce):
        raise ValueError("the attach report nonce must be hex digits")
    has_session = shell_words("tmux", "has-session", "-t", _exact_target(session))
    found = f"if {has_session} 2>/dev/null; then report={AttachReport.EXISTED}; "
    if adopt is not None and adopt != session:
        has_old = shell_words("tmux", "has-session", "-t", _exact_target(adopt))
        rename = shell_words("tmux", "rename-session", "-t", _exact_target(adopt), session)
        found += (
            f"elif {has_old} 2>/dev/null && {rename} 2>/dev/null; "
            f"then report={AttachReport.EXISTED}; "
        )
    # Double quotes: $report is filled in by this shell, #{client_tty} by tmux (a /dev/pts
    # path), and the line goes to the terminal tmux has just taken over and flushed.
    print_report = f'"{_report_line(nonce, "$report")} >#{{client_tty}}"'
    # ";" ends tmux's first command (in double quotes: a single quote would end the script's).
    attach = shell_words("exec", "tmux", "-u", "new-session", "-A", "-s", session) + ' ";"'
    script = "; ".join(
        (
            "command -v tmux >/dev/null 2>&1 || { "
            + _report_line(nonce, AttachReport.NO_TMUX)
            + f"; exit {ProbeResult.NO_TMUX.value}; }}",
            found + f"else report={AttachReport.NEW}; fi",
            f"{attach} run-shell {print_report}",
        )
    )
    return remote_command(script)


class AttachReportScanner:
    """Finds the report line of ``reporting_attach_command`` in the first bytes of the
    channel and passes every other byte through unchanged."""

    def __init__(self, nonce: str) -> None:
        self._pattern = re.compile(
            REPORT_PREFIX.encode() + re.escape(nonce.encode()) + rb":([a-z]+)\r?\n"
        )
        self._pending = bytearray()
        self.report: AttachReport | None = None

    def feed(self, data: bytes) -> bytes:
        """The bytes to show now; holds back what might be the start of the report.
        Raises ValueError for an unknown report or when REPORT_LIMIT passes without one."""
        if self.report is not None:
            return data
        self._pending += data
        found = self._pattern.search(self._pending)
        if found is None:
            if len(self._pending) > REPORT_LIMIT:
                raise ValueError(f"no attach report within {REPORT_LIMIT} bytes")
            return b""
        self.report = AttachReport(found.group(1).decode())
        shown = bytes(self._pending[: found.start()] + self._pending[found.end() :])
        self._pending.clear()
        return shown


def has_session_command(session: str) -> str:
    """Exit 0 when ``session`` is still running (used to tell a detach from an end)."""
    return probe_command(session)


def no_tmux_notice(host: str) -> str:
    """What the user is told when the server has no tmux."""
    return (
        f"tmux is not installed on {host}: this session will not survive a reconnect. "
        "Install tmux on the server."
    )


@dataclass(frozen=True, slots=True)
class TmuxExit:
    """What is known when the tmux client on the server stops."""

    exit_status: int | None
    """The client's exit status; None when it was killed by a signal or gave none."""
    session_alive: bool
    """Whether ``tmux has-session`` still finds the session afterwards."""

    @property
    def detached(self) -> bool:
        """tmux exits 0 on a detach and the session lives on."""
        return self.exit_status == 0 and self.session_alive

    @property
    def ended(self) -> bool:
        """The last shell exited or the session was killed: tmux exits 0, session gone."""
        return self.exit_status == 0 and not self.session_alive
