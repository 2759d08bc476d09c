"""The built-in demo's SSH server: the local user's own shell, on loopback, for one client key.

``termkeep demo`` needs something to connect to on a machine with nothing configured. This
server is deliberately narrow, so that nobody else gets in through it:

- it listens on 127.0.0.1 only, on a random port;
- it accepts exactly one public key, the throwaway client key generated for this run, and
  offers no password or keyboard-interactive auth;
- its host key and the client key live in a 0700 temporary directory that is removed on exit.

A demo killed with SIGKILL cannot remove anything, so each ``termkeep-demo-*`` directory
records its owner (pid and process start time) and the next demo removes those whose owner
is gone, after ending the tmux server left in them. Only directories of this user, with an
owner record, are touched: a demo running now (or one of another version) is left alone.

Commands run as the user who started the demo (the server cannot switch users), each under
``/bin/sh -c`` in a PTY when the client asks for one, like sshd does.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import shutil
import signal
import stat
import struct
import subprocess
import tempfile
import termios
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import override

import asyncssh

from termkeep.config.errors import ConfigError
from termkeep.config.files import read_config_text

_READ_CHUNK = 64 * 1024
DEMO_DIR_PREFIX = "termkeep-demo-"
OWNER_FILE = "owner"
"""In each demo directory: ``PID START`` of the process that made it (START from
/proc/PID/stat, so a PID used again by another process is not taken for the owner)."""
_OWNER_FILE_LIMIT = 64
_PROC = Path("/proc")
CLOSE_TIMEOUT = 5.0
"""Seconds the server waits for its connections to close on exit."""


@dataclass(frozen=True, slots=True)
class DemoServerInfo:
    """What a client needs to reach the demo server."""

    host: str
    port: int
    client_key: Path
    known_hosts: Path
    tmux_tmpdir: Path


class _PtyCommand:
    """A child process on a fresh PTY, wired to one SSH channel."""

    def __init__(
        self, chan: asyncssh.SSHServerChannel[bytes], command: str, env: dict[str, str]
    ) -> None:
        self._chan = chan
        self._loop = asyncio.get_running_loop()
        master, slave = pty.openpty()
        self._master = master
        self._process = subprocess.Popen(  # noqa: S602 - it is the user's own command, as in sshd
            command,
            shell=True,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,  # its own process group, for SIGHUP and SIGWINCH
            close_fds=True,
        )
        os.close(slave)
        os.set_blocking(master, False)
        self._loop.add_reader(master, self._on_readable)

    def write(self, data: bytes) -> None:
        with contextlib.suppress(OSError):
            os.write(self._master, data)

    def resize(self, cols: int, rows: int) -> None:
        with contextlib.suppress(OSError):
            fcntl.ioctl(self._master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        # The kernel signals a size change only to the foreground group of the terminal's
        # session, and the PTY is not the child's controlling terminal (it was open before
        # setsid): without this, a program started before a resize (tmux) never hears of it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, signal.SIGWINCH)

    def hang_up(self) -> None:
        """The client went away: end the child like a dropped sshd connection would (SIGHUP)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGHUP)
        self._finish()

    def _on_readable(self) -> None:
        try:
            data = os.read(self._master, _READ_CHUNK)
        except OSError:  # EIO: every process holding the PTY has gone
            data = b""
        if data:
            self._chan.write(data)
            return
        self._finish()
        status = self._process.wait()
        with contextlib.suppress(OSError, asyncssh.Error):
            self._chan.exit(status if status >= 0 else 128 - status)

    def _finish(self) -> None:
        self._loop.remove_reader(self._master)
        with contextlib.suppress(OSError):
            os.close(self._master)


class _DemoSession(asyncssh.SSHServerSession[bytes]):
    """One SSH session channel: a PTY command, or a plain command without a PTY."""

    def __init__(self, env: dict[str, str]) -> None:
        self._env = env
        self._chan: asyncssh.SSHServerChannel[bytes] | None = None
        self._command: str | None = None
        self._size = (80, 24)
        self._pty: _PtyCommand | None = None
        self._plain: asyncio.subprocess.Process | None = None
        self._plain_stdin: asyncio.StreamWriter | None = None
        self._early_input = bytearray()
        """Input that came before the plain command started; it gets it first."""
        self._early_eof = False
        self._want_pty = False

    @override
    def connection_made(self, chan: asyncssh.SSHServerChannel[bytes]) -> None:
        self._chan = chan

    @override
    def pty_requested(
        self, term_type: str, term_size: tuple[int, int, int, int], term_modes: object
    ) -> bool:
        self._want_pty = True
        self._env["TERM"] = term_type or "xterm-256color"
        self._size = (term_size[0] or 80, term_size[1] or 24)
        return True

    @override
    def shell_requested(self) -> bool:
        self._command = self._env.get("SHELL", "/bin/sh") + " -l"
        return True

    @override
    def exec_requested(self, command: str) -> bool:
        self._command = command
        return True

    @override
    def session_started(self) -> None:
        assert self._chan is not None
        assert self._command is not None
        if self._want_pty:
            self._pty = _PtyCommand(self._chan, self._command, self._env)
            self._pty.resize(*self._size)
        else:
            asyncio.get_running_loop().create_task(self._run_plain(self._chan, self._command))

    @override
    def data_received(self, data: bytes, datatype: object) -> None:
        if self._pty is not None:
            self._pty.write(data)
        elif self._plain_stdin is not None:
            self._plain_stdin.write(data)
        elif not self._want_pty:
            self._early_input += data

    @override
    def eof_received(self) -> bool:
        # Keep the channel open: a client whose stdin ends (ssh < /dev/null) still wants the
        # command's output, as from sshd.
        if self._plain_stdin is not None:
            self._plain_stdin.close()
        self._early_eof = True
        return True

    @override
    def terminal_size_changed(self, width: int, height: int, pixwidth: int, pixheight: int) -> None:
        if self._pty is not None:
            self._pty.resize(width, height)

    @override
    def connection_lost(self, exc: Exception | None) -> None:
        if self._pty is not None:
            self._pty.hang_up()
        if self._plain is not None and self._plain.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._plain.pid, signal.SIGHUP)

    async def _run_plain(self, chan: asyncssh.SSHServerChannel[bytes], command: str) -> None:
        # Input and output stream both ways, as from sshd: a command may be a long-lived
        # helper that answers requests on its stdin (the scrollback view's helper shell).
        process = await asyncio.create_subprocess_shell(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self._env,
            start_new_session=True,
        )
        assert process.stdin is not None
        assert process.stdout is not None
        assert process.stderr is not None
        self._plain = process
        self._plain_stdin = process.stdin
        process.stdin.write(bytes(self._early_input))
        self._early_input.clear()
        if self._early_eof:
            process.stdin.close()
        await asyncio.gather(
            _pump(process.stdout, chan.write), _pump(process.stderr, chan.write_stderr)
        )
        status = await process.wait()
        with contextlib.suppress(OSError, asyncssh.Error):
            chan.exit(status if status >= 0 else 128 - status)


async def _pump(source: asyncio.StreamReader, sink: Callable[[bytes], None]) -> None:
    """Copy ``source`` into the channel until it ends (or the channel is gone)."""
    while data := await source.read(_READ_CHUNK):
        try:
            sink(data)
        except (OSError, asyncssh.Error):
            return


class _DemoServer(asyncssh.SSHServer):
    """Public-key auth for the one generated client key; nothing else. Each session channel
    gets its own copy of the demo environment."""

    def __init__(self, env: dict[str, str], connections: set[asyncssh.SSHServerConnection]) -> None:
        self._env = env
        self._connections = connections

    @override
    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._connections.add(conn)
        self._conn = conn

    @override
    def connection_lost(self, exc: Exception | None) -> None:
        self._connections.discard(self._conn)

    @override
    def session_requested(self) -> _DemoSession:
        return _DemoSession(dict(self._env))

    @override
    def begin_auth(self, username: str) -> bool:
        return True  # auth is always required

    @override
    def password_auth_supported(self) -> bool:
        return False

    @override
    def kbdint_auth_supported(self) -> bool:
        return False

    @override
    def public_key_auth_supported(self) -> bool:
        return True


def process_identity(pid: int) -> str | None:
    """``PID START`` of a running process, or None when there is none (or it is a zombie:
    killed, waiting to be reaped)."""
    try:
        stat_line = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # Field 2, the command name, is in parentheses and may hold spaces: split after it.
    fields = stat_line.rpartition(")")[2].split()
    state, start_time = fields[0], fields[19]  # fields 3 and 22 of proc(5)
    return None if state in {"Z", "X"} else f"{pid} {start_time}"


def make_demo_dir(kind: str = "") -> Path:
    """A new 0700 temporary directory ``termkeep-demo-<kind>*`` recording this process as
    its owner."""
    directory = Path(tempfile.mkdtemp(prefix=f"{DEMO_DIR_PREFIX}{kind}"))  # 0700
    identity = process_identity(os.getpid())
    if identity is not None:  # without /proc there is no record, and the dir is never judged
        (directory / OWNER_FILE).write_text(f"{identity}\n")
    return directory


def _owner_gone(directory: Path) -> bool:
    """Whether ``directory``'s recorded owner process has ended (False when unsure)."""
    try:
        recorded = read_config_text(directory / OWNER_FILE, _OWNER_FILE_LIMIT).strip()
    except (OSError, ConfigError):
        return False  # no owner record: being made right now, or not made by this code
    pid, _, _ = recorded.partition(" ")
    if not pid.isdigit():
        return False
    return process_identity(int(pid)) != recorded


def remove_stale_demo_dirs(parent: Path | None = None) -> list[Path]:
    """Remove the ``termkeep-demo-*`` directories of this user whose owner process is gone
    (a demo killed with SIGKILL), with the tmux server left running in them; return them."""
    parent = parent or Path(tempfile.gettempdir())
    removed: list[Path] = []
    if process_identity(os.getpid()) is None:
        return removed  # no /proc: no owner can be judged gone
    for entry in sorted(parent.glob(f"{DEMO_DIR_PREFIX}*")):
        try:
            status = entry.lstat()  # a symlink is not a directory here: never followed
        except OSError:
            continue
        if not stat.S_ISDIR(status.st_mode) or status.st_uid != os.geteuid():
            continue
        if not _owner_gone(entry):
            continue
        if (entry / "tmux").is_dir():
            _kill_demo_tmux(entry / "tmux")
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


class DemoServer:
    """Start with ``async with DemoServer() as info:``; everything is removed on exit."""

    def __init__(self) -> None:
        self._workdir: Path | None = None
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._connections: set[asyncssh.SSHServerConnection] = set()
        """Open client connections: closed on exit, whatever state the clients are in."""

    async def __aenter__(self) -> DemoServerInfo:
        workdir = make_demo_dir()
        self._workdir = workdir
        host_key = asyncssh.generate_private_key("ssh-ed25519")
        client_key = asyncssh.generate_private_key("ssh-ed25519")
        client_key_path = workdir / "client_key"
        client_key.write_private_key(str(client_key_path))
        client_key_path.chmod(0o600)
        tmux_tmpdir = workdir / "tmux"
        tmux_tmpdir.mkdir(mode=0o700)
        env = _session_environment(tmux_tmpdir)
        self._acceptor = await asyncssh.listen(
            "127.0.0.1",
            0,
            server_host_keys=[host_key],
            authorized_client_keys=asyncssh.import_authorized_keys(
                client_key.export_public_key().decode()
            ),
            server_factory=lambda: _DemoServer(env, self._connections),
            encoding=None,
            allow_scp=False,
            line_editor=False,  # the PTY child does its own line editing, as under sshd
            agent_forwarding=False,
            x11_forwarding=False,
            # No GSS: asyncssh would otherwise look up this machine's full name (getfqdn), a
            # DNS query off the machine wherever /etc/hosts does not list the hostname.
            gss_host=None,
        )
        port = self._acceptor.get_port()
        known_hosts = workdir / "known_hosts"
        public_line = host_key.export_public_key().decode().strip()
        known_hosts.write_text(f"[127.0.0.1]:{port} {public_line}\n")
        return DemoServerInfo("127.0.0.1", port, client_key_path, known_hosts, tmux_tmpdir)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._acceptor is not None:
            self._acceptor.close()
            # A client that never said goodbye (the app stopped on an error) would keep
            # wait_closed waiting for its connection: close them all from this side.
            for conn in list(self._connections):
                conn.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._acceptor.wait_closed(), CLOSE_TIMEOUT)
        if self._workdir is not None:
            _kill_demo_tmux(self._workdir / "tmux")
            shutil.rmtree(self._workdir, ignore_errors=True)


def _session_environment(tmux_tmpdir: Path) -> dict[str, str]:
    """The environment of every demo command: the user's own, with a private tmux socket
    directory so the demo never touches the user's real tmux server."""
    env = dict(os.environ)
    env.pop("TMUX", None)  # the demo may itself be started inside tmux
    env["TMUX_TMPDIR"] = str(tmux_tmpdir)
    env.setdefault("SHELL", "/bin/sh")
    return env


def _kill_demo_tmux(tmux_tmpdir: Path) -> None:
    """End the tmux server the demo started, found by its private socket directory."""
    if shutil.which("tmux") is None:
        return
    env = dict(os.environ, TMUX_TMPDIR=str(tmux_tmpdir))
    env.pop("TMUX", None)
    subprocess.run(["tmux", "kill-server"], env=env, capture_output=True, timeout=5, check=False)
