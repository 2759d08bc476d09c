"""How a tab attaches its tmux session: the commands, the attach report, and the
``AttachStrategy`` the connector runs (``PlainAttach``: ``tmux new-session -A``).

The attach is one command that first reports whether tmux and the session exist, so the tmux
probe costs no round trip of its own; when the channel later closes cleanly, a probe over a
side channel tells a detach from an end. Every command is quoted for any login shell
(shell.py).
"""

from __future__ import annotations

import asyncio
import re
import secrets
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any

from termkeep.config.profile import Profile
from termkeep.tmux.agent import agent_release_script, agent_setup_script
from termkeep.tmux.away import FOREGROUND_FORMAT
from termkeep.tmux.names import sanitize_session_name
from termkeep.tmux.shell import exact_target, remote_command, shell_words
from termkeep.transport.link import (
    AgentState,
    Attachment,
    Cause,
    ConnectFailedError,
    DataSink,
    Ending,
    LinkClosed,
    OpenTerminal,
    SideChannels,
    TerminalChannel,
    retrieve_quietly,
)


class ProbeResult(IntEnum):
    """Exit status of ``probe_command``."""

    EXISTS = 0
    """tmux is installed and the session exists."""
    ABSENT = 1
    """tmux is installed; the session does not exist (or no tmux server runs)."""
    NO_TMUX = 127
    """tmux is not installed (the shell's 'command not found' status)."""


def probe_command(session: str) -> str:
    """Exit status says whether tmux exists and whether ``session`` is running
    (see ``ProbeResult``). Prints nothing, so nothing reaches the screen."""
    script = "; ".join(
        (
            f"command -v tmux >/dev/null 2>&1 || exit {ProbeResult.NO_TMUX.value}",
            shell_words("exec", "tmux", "has-session", "-t", exact_target(session))
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


def client_report(nonce: str, report: str) -> str:
    """The ``run-shell`` command that writes the report line to the client's terminal, and
    never fails aloud. tmux shows a failed run-shell's status ("'...' returned 2") in the
    session's pane, in view mode, and leaves it there: the keys typed next move that view
    instead of reaching the shell. The write fails when the connection dies between the
    attach and the report (the client's terminal is gone by then; tmux may have no client
    for the command at all), and the pane must then stay as the user left it for the
    connection that comes next."""
    to_client = "#{?client_tty,#{client_tty},/dev/null}"
    return f"{{ {_report_line(nonce, report)} >{to_client}; }} 2>/dev/null || :"


def reporting_attach_command(
    session: str,
    nonce: str,
    adopt: str | None = None,
    agent: AgentState = AgentState.OFF,
    *,
    history_limit: int | None = None,
) -> str:
    """Attach to ``session`` (creating it if needed) in one command that also prints which
    it was, so the tmux probe costs no round trip of its own.

    The report is one line, ``termkeep-attach:<nonce>:<AttachReport>:<command>``, where
    ``<command>`` is the pane's ``pane_current_command`` with every character that needs
    quoting made ``_`` (what runs in front, for "while you were away" after the next drop;
    it comes with the report, so it costs no round trip either);
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
    ``names.adoptable_legacy_base``). When ``session`` does not exist but ``adopt``
    does, that one is renamed to ``session`` and attached: the user's running programs are
    found again, and from then on the session has its new name.

    ``agent``: whether this connection forwards the SSH agent. Unless ``OFF``, the stable
    agent path (agent.py) is pointed at this connection's agent (or at another attached
    connection's, or removed) and exported before tmux starts; the shell then waits for tmux
    instead of becoming it, and re-points the path when tmux ends.

    ``history_limit``: the lines a session this command creates keeps (``new_session_limit``).
    """
    if not re.fullmatch(r"[0-9a-f]{1,64}", nonce):
        raise ValueError("the attach report nonce must be hex digits")
    has_session = shell_words("tmux", "has-session", "-t", exact_target(session))
    found = f"if {has_session} 2>/dev/null; then report={AttachReport.EXISTED}; "
    if adopt is not None and adopt != session:
        has_old = shell_words("tmux", "has-session", "-t", exact_target(adopt))
        rename = shell_words("tmux", "rename-session", "-t", exact_target(adopt), session)
        found += (
            f"elif {has_old} 2>/dev/null && {rename} 2>/dev/null; "
            f"then report={AttachReport.EXISTED}; "
        )
    # Double quotes: $report is filled in by this shell, #{client_tty} by tmux (a /dev/pts
    # path), and the line goes to the terminal tmux has just taken over and flushed.
    print_report = f'"{client_report(nonce, "$report:" + FOREGROUND_FORMAT)}"'
    # ";" ends tmux's first command (in double quotes: a single quote would end the script's).
    attach = shell_words("exec", "tmux", "-u", "new-session", "-A", "-s", session) + ' ";"'
    launches = []
    if history_limit is not None:
        # A new session is made by this step (it execs tmux); an existing one falls through.
        launches.append(new_session_limit(session, history_limit, f"run-shell {print_report}"))
    launches.append(f"{attach} run-shell {print_report}")
    run_tmux = "; ".join(launches)
    setup = agent_setup_script(session, agent)
    if setup:
        run_tmux = _keeping_agent(setup, run_tmux)
    script = "; ".join(
        (
            "command -v tmux >/dev/null 2>&1 || { "
            + _report_line(nonce, AttachReport.NO_TMUX)
            + f"; exit {ProbeResult.NO_TMUX.value}; }}",
            found + f"else report={AttachReport.NEW}; fi",
            run_tmux,
        )
    )
    return remote_command(script)


HISTORY_LIMIT_MAX = 2_000_000
"""The most lines termkeep asks tmux to keep (the settings allow less)."""
_SAVED_LIMIT = "@termkeep-history-limit"
_OLD_TMUX = ('"tmux "[0-2].*', '"tmux 3.0"', '"tmux 3.0"[a-z]', '"tmux 3.1"', '"tmux 3.1"[a-z]')
"""``tmux -V`` of versions before 3.2, which have no numeric comparison in formats."""


def new_session_limit(session: str, lines: int, then: str) -> str:
    """A shell step that, when ``$report`` says the session is new, creates and attaches it
    with ``new-session -A`` so that its first pane keeps ``lines`` of history, or what the
    user's tmux configuration sets if that is more; ``then`` is a tmux command run after.

    tmux gives a pane the ``history-limit`` its session has when the pane is made, and a new
    session's first pane is made inside ``new-session``, before any option of the session
    can be set. So the global option is raised for the length of one tmux command list and
    put back at once: the list runs in one turn of the tmux server, so no other pane is
    made meanwhile, and the user's other sessions and global options end as they were. The
    global value is read with ``show-options -g`` (a format would read the current
    session's own value instead); when no tmux server runs yet, the new server has read the
    user's configuration by the time the list runs, and the format reads it. The session's
    own option is set too (only to raise it), so its later windows keep as many lines.
    Sessions that exist keep theirs: tmux cannot resize a pane's history. tmux before 3.2
    attaches without a limit. Were ``new-session`` itself to fail (tmux cannot open the
    client's terminal), the rest of the list is skipped and the raised global stays.
    """
    if not 0 <= lines <= HISTORY_LIMIT_MAX:
        raise ValueError(f"history limit {lines} is outside 0..{HISTORY_LIMIT_MAX}")
    saved = f"#{{{_SAVED_LIMIT}}}"
    more = f"#{{e|<:{saved},{lines}}}"
    tmux = [
        *("exec", "tmux", "-u", "set-option", "$how", _SAVED_LIMIT, "$saved", ";"),
        *("set-option", "-gF", "history-limit", f"#{{?{more},{lines},{saved}}}", ";"),
        *("new-session", "-A", "-s", session, ";"),
        *("set-option", "-gF", "history-limit", saved, ";"),
        *("if-shell", "-F", more, f"set-option -t ={session}: history-limit {lines}", ";"),
        *("set-option", "-gu", _SAVED_LIMIT, ";"),
    ]
    # "$how" and "$saved" stay shell variables: shlex would quote their dollar signs.
    command = shell_words(*tmux).replace("'$how'", '"$how"').replace("'$saved'", '"$saved"')
    return (
        f'if [ "$report" = {AttachReport.NEW} ]; then case "$(tmux -V 2>/dev/null)" in '
        + "|".join(_OLD_TMUX)
        + ") ;; *) "
        + "if saved=$(tmux show-options -gv history-limit 2>/dev/null); then how=-g; "
        + f"else how=-gF; saved={shell_words('#{history-limit}')}; fi; "
        + f"{command} {then};; esac; fi"
    )


def _keeping_agent(setup: str, run_tmux: str) -> str:
    """``run_tmux`` with the stable agent path set up before it and released after it.

    tmux runs in a subshell, so this shell is still there when the tmux client ends; it
    ignores the hang-up that ends the client when the connection drops (the subshell restores
    it for tmux), then releases the path and exits with tmux's status."""
    return "; ".join(
        (
            setup,
            'trap "" HUP',
            f"(trap - HUP; {run_tmux})",
            "agent_status=$?",
            agent_release_script(),
            "exit $agent_status",
        )
    )


_REPORT_LINE = re.compile(
    re.escape(REPORT_PREFIX.encode())
    + rb"(?P<nonce>[0-9A-Za-z]+):(?P<report>[a-z]+)(?::(?P<foreground>[A-Za-z0-9._+-]*))?\r?\n"
)
"""One pattern for every attach: a pattern per nonce would fill re's cache with a compiled
pattern per reconnect (512 of them, about 0.6 MB, in an app that reconnects all day)."""


class AttachReportScanner:
    """Finds the report line of ``reporting_attach_command`` in the first bytes of the
    channel and passes every other byte through unchanged."""

    def __init__(self, nonce: str) -> None:
        self._nonce = nonce.encode()
        self._pending = bytearray()
        self.report: AttachReport | None = None
        self.foreground: str | None = None
        """What ran in front in the pane when tmux attached (None: not said)."""

    def feed(self, data: bytes) -> bytes:
        """The bytes to show now; holds back what might be the start of the report.
        Raises ValueError for an unknown report or when REPORT_LIMIT passes without one."""
        if self.report is not None:
            return data
        self._pending += data
        found = self._find_report()
        if found is None:
            if len(self._pending) > REPORT_LIMIT:
                raise ValueError(f"no attach report within {REPORT_LIMIT} bytes")
            return b""
        self.report = AttachReport(found["report"].decode())
        if found["foreground"]:
            self.foreground = found["foreground"].decode()
        shown = bytes(self._pending[: found.start()] + self._pending[found.end() :])
        self._pending.clear()
        return shown

    def _find_report(self) -> re.Match[bytes] | None:
        # A report line with another nonce (an earlier attach's, shown again by a redraw)
        # is output like any other.
        for found in _REPORT_LINE.finditer(self._pending):
            if found["nonce"] == self._nonce:
                return found
        return None


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


class PlainAttach:
    """The ``AttachStrategy`` of today: ``tmux new-session -A`` in the PTY channel, after a
    report of whether the session existed (``reporting_attach_command``)."""

    def __init__(
        self,
        session: str,
        *,
        probe_timeout: float,
        adopt: str | None = None,
        history_limit: int | None = None,
    ) -> None:
        """``session``: the name as it is on the host (sanitised); ``probe_timeout``: how
        long the probe after a clean close may take; ``adopt``: an older name of the session,
        renamed to ``session`` on attach when only it exists; ``history_limit``: the lines
        of history the session keeps when this attach creates it (None: tmux's setting)."""
        self.session = session
        self._probe_timeout = probe_timeout
        self._adopt = adopt
        self.history_limit = history_limit
        self.foreground: str | None = None
        """The command in front in the pane at the latest attach (``pane_current_command``,
        quoting characters made ``_``); None before one said."""

    @classmethod
    def for_profile(
        cls, profile: Profile, *, adopt: str | None = None, history_limit: int | None = None
    ) -> PlainAttach | None:
        """The attach of ``profile``'s tmux session; None when the profile turns tmux off
        (then a plain login shell is opened)."""
        if not profile.tmux.enabled:
            return None
        return cls(
            sanitize_session_name(profile.tmux_session_name),
            probe_timeout=profile.reconnect.connect_timeout,
            adopt=adopt,
            history_limit=history_limit,
        )

    async def attach(
        self, open_terminal: OpenTerminal, on_data: DataSink, *, agent: AgentState = AgentState.OFF
    ) -> Attachment:
        """Attach in one command that first reports whether the session existed (the tmux
        probe costs no round trip of its own) and, when the profile forwards the agent, keeps
        the session's stable agent path (agent.py); no channel when the server has no tmux."""
        nonce = secrets.token_hex(8)
        scan = _ReportScan(AttachReportScanner(nonce), on_data)
        command = reporting_attach_command(
            self.session, nonce, self._adopt, agent, history_limit=self.history_limit
        )
        channel = await open_terminal(command, scan.feed)
        try:
            report = await scan.report_or_close(channel)
        except BaseException:
            channel.abort()
            raise
        if report is AttachReport.NO_TMUX:
            channel.close()
            return Attachment(report, None)
        self.foreground = scan.foreground
        # The report is out of the stream: from now on bytes go straight to the screen.
        channel.deliver_to(on_data)
        return Attachment(report, channel, existed=report is AttachReport.EXISTED)

    def unavailable_notice(self, host: str) -> str:
        return no_tmux_notice(host)

    async def ending(self, side: SideChannels, exit_status: int | None) -> LinkClosed:
        """Detached (exit 0, session alive), ended (exit 0, session gone), or lost: the
        tmux client stopped otherwise, or the tmux server on the host exited."""
        probe = await side.run(has_session_command(self.session), timeout=self._probe_timeout)
        alive = probe.exit_status == ProbeResult.EXISTS
        verdict = TmuxExit(exit_status, alive)
        if verdict.detached:
            return LinkClosed(Ending.DETACHED, None, "detached from tmux")
        if verdict.ended:
            return LinkClosed(Ending.ENDED, None, "the tmux session ended")
        if alive:
            return LinkClosed(Ending.LOST, Cause.SERVER_CLOSED, "the tmux client stopped")
        return LinkClosed(Ending.LOST, Cause.SERVER_CLOSED, "the tmux server on the host exited")


class _ReportScan:
    """The attach channel's sink until the report is out: the report is taken out of the
    first bytes and resolves ``report``; every other byte goes to the screen."""

    def __init__(self, scanner: AttachReportScanner, on_data: DataSink) -> None:
        self._scanner = scanner
        self._on_data = on_data
        self.report: asyncio.Future[AttachReport] = asyncio.get_running_loop().create_future()
        # A probe cancelled before it awaited the report (another won, the tab closed)
        # leaves nobody to read a failure set later: asyncio would write "Future exception
        # was never retrieved" to the error log, as if something had gone wrong.
        self.report.add_done_callback(retrieve_quietly)

    @property
    def foreground(self) -> str | None:
        """The command in front that the report named."""
        return self._scanner.foreground

    def feed(self, data: bytes) -> None:
        if self._scanner.report is AttachReport.NO_TMUX:
            return  # this channel only said so and exits; a login shell follows
        if not self.report.done():
            data = self._scan(data)
        if data:
            self._on_data(data)

    def _scan(self, data: bytes) -> bytes:
        scanner = self._scanner
        try:
            shown = scanner.feed(data)
        except ValueError as exc:
            self.report.set_exception(ConnectFailedError(Cause.PROTOCOL, str(exc)))
            return b""
        if scanner.report is not None:
            self.report.set_result(scanner.report)
            if scanner.report is AttachReport.NO_TMUX:
                return b""
        return shown

    async def report_or_close(self, channel: TerminalChannel) -> AttachReport:
        """The report; when the channel closes first, why (the connection's error, or the
        command ended early)."""
        closing = asyncio.ensure_future(channel.wait_closed())
        either: list[asyncio.Future[Any]] = [self.report, closing]
        try:
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closing.cancel()
        if self.report.done():
            return self.report.result()
        raise closing.result() or ConnectFailedError(
            Cause.SERVER_CLOSED, "the attach command ended early"
        )
