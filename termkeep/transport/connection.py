"""One SSH connection from a Profile, attached to the tab's tmux session: the real ``Link``.

Connecting is: resolve the target (and ``~/.ssh/config`` when the profile says so), open each
jump host hop by hop, open the TCP socket ourselves with the profile's kernel options, run the
SSH handshake under the host key policy, authenticate through the ``Prompter``, then open the
PTY channel with one command that reports whether tmux and the session exist and attaches.
The connect timeout bounds the network part only: time spent in a prompt does not count
(asyncssh's own timeout would). Round trips asyncssh would wait for needlessly are skipped
(pipelining.py): on a slow link each one shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, cast, override

import asyncssh
from asyncssh.encryption import get_default_encryption_algs

from termkeep.config.profile import Profile
from termkeep.platform.tcp import apply_tcp_options, open_tcp
from termkeep.transport import pipelining, tmux
from termkeep.transport.admission import Ticket, holding, startup_gate
from termkeep.transport.classify import classify, connect_failed, describe, lookup_failed
from termkeep.transport.hostkeys import (
    DEFAULT_GLOBAL_KNOWN_HOSTS,
    DEFAULT_SSH_PORT,
    DEFAULT_USER_KNOWN_HOSTS,
    HostKeyCheck,
    HostKeyPolicy,
    HostKeySettings,
    StrictHostKeyChecking,
)
from termkeep.transport.link import (
    Cause,
    ConnectFailedError,
    Connector,
    DataSink,
    Ending,
    Link,
    LinkClosed,
    ReachedSink,
    Stage,
)
from termkeep.transport.prompts import KbdIntPrompts, Prompter
from termkeep.transport.ssh_options import SshOptions, config_paths, read_ssh_options

_log = logging.getLogger(__name__)

MAX_PASSWORD_PROMPTS = 3
"""Like OpenSSH's NumberOfPasswordPrompts; also caps keyboard-interactive rounds."""

MAX_PASSPHRASE_PROMPTS = 3
MAX_JUMP_HOPS = 8
DEFAULT_KEY_FILES = ("id_ed25519", "id_ecdsa", "id_rsa")
LOCALE_VARIABLES = ("LANG", "LC_*")

FAST_CIPHERS = (b"aes128-gcm@openssh.com", b"aes256-gcm@openssh.com")
"""With AES-NI, AES-GCM costs less per packet than chacha20-poly1305 (asyncssh's first
choice), and a PTY stream is many small packets."""


def preferred_ciphers() -> list[str]:
    """asyncssh's default ciphers with AES-GCM moved to the front."""
    defaults = get_default_encryption_algs()
    first = [alg for alg in FAST_CIPHERS if alg in defaults]
    return [alg.decode() for alg in first + [alg for alg in defaults if alg not in first]]


type ProfileLookup = Callable[[str], Profile | None]
"""Finds a saved profile by name (for ``jump = "other-profile"``); None if there is none."""


class ConnectClock:
    """A budget for each stretch of waiting on the network while connecting; it stops
    while a prompt is open and starts afresh when the user has answered."""

    def __init__(self, budget: float) -> None:
        self._budget = budget
        self._loop = asyncio.get_running_loop()
        self._running_since: float | None = self._loop.time()
        self._changed = asyncio.Event()

    @property
    def budget(self) -> float:
        """The seconds allowed."""
        return self._budget

    def remaining(self) -> float | None:
        """Seconds left, or None while paused (no limit while the user types)."""
        if self._running_since is None:
            return None
        return self._budget - (self._loop.time() - self._running_since)

    @contextlib.asynccontextmanager
    async def paused(self) -> AsyncIterator[None]:
        """Stop the clock around a prompt (prompts never nest, so no counting needed).

        After the user answers, the server gets the whole budget again: it has shown it is
        alive by asking, and judging a wrong password can take it seconds (PAM's delay).
        """
        self._running_since = None
        self._changed.set()
        try:
            yield
        finally:
            self._running_since = self._loop.time()
            self._changed.set()

    async def run[T](self, work: Awaitable[T]) -> T:
        """Await ``work``; raise TimeoutError if the running clock runs out first."""
        task = asyncio.ensure_future(work)
        try:
            while True:
                remaining = self.remaining()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError
                self._changed.clear()
                changed = asyncio.ensure_future(self._changed.wait())
                try:
                    done, _ = await asyncio.wait(
                        {task, changed}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                    )
                finally:
                    # Also when this attempt is cancelled: a waiter left pending would be
                    # destroyed with the loop ("Task was destroyed but it is pending").
                    changed.cancel()
                if task in done:
                    return task.result()
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task


def _is_encrypted_key(path: Path) -> bool:
    """Whether a private key file needs a passphrase (unreadable files count as not)."""
    try:
        asyncssh.read_private_key(path)
    except asyncssh.KeyImportError as exc:
        return "passphrase" in str(exc).lower()
    except (OSError, ValueError):
        return False
    return False


@dataclasses.dataclass
class RememberedSecrets:
    """Answers that worked, kept in memory only (never on disk, never logged), so that an
    automatic reconnect does not stop to ask again. A remembered password that the server
    refuses is forgotten and the user is asked."""

    passwords: dict[str, str] = dataclasses.field(default_factory=dict)
    """``user@host`` -> the password that logged in."""
    keys: dict[Path, asyncssh.SSHKey] = dataclasses.field(default_factory=dict)
    """Key file -> the key decrypted with the user's passphrase."""
    accepted_keys: pipelining.KeyMemory = dataclasses.field(default_factory=pipelining.KeyMemory)
    """Which public key logged in to each ``user@host``: signed at once next time."""


def _is_password_prompt(prompts: KbdIntPrompts) -> bool:
    """PAM's usual keyboard-interactive round: one hidden prompt that asks for a password
    (one-time codes are never replayed)."""
    return len(prompts) == 1 and not prompts[0][1] and "password" in prompts[0][0].lower()


@dataclasses.dataclass
class _Progress:
    """How far the hop being opened got, so that a failure can say at which stage it
    failed: the supervisor retries a network that is down at once, but backs off from a
    server that accepted and then refused us."""

    tcp_connected: bool = False
    conn: asyncssh.SSHClientConnection | None = None
    admission: Ticket | None = None
    """The hop's place at its server's startup gate (admission.py)."""

    def next_hop(self, admission: Ticket | None = None) -> None:
        """A hop starts from nothing (a jump host's success says nothing of the next)."""
        self.tcp_connected = False
        self.conn = None
        self.admission = admission

    def waiting_on_user(self) -> None:
        """A prompt is open: a person may take minutes, so the place goes to others."""
        if self.admission is not None:
            self.admission.release()

    @property
    def stage(self) -> Stage:
        if self.conn is not None and self.conn.get_extra_info("server_version"):
            return Stage.ACCEPTED
        return Stage.GREETING if self.tcp_connected else Stage.CONNECT


class _Client(asyncssh.SSHClient):
    """asyncssh callbacks: host key recording and every kind of prompt."""

    def __init__(
        self,
        *,
        check: HostKeyCheck,
        prompter: Prompter,
        clock: ConnectClock,
        login: str,
        encrypted_keys: Sequence[Path],
        secrets: RememberedSecrets,
        progress: _Progress | None = None,
    ) -> None:
        self._check = check
        self._progress = progress or _Progress()
        self._prompter = prompter
        self._clock = clock
        self._login = login
        self._encrypted_keys = list(encrypted_keys)
        self._secrets = secrets
        self._password_prompts = 0
        self._kbdint_rounds = 0
        self._offered_remembered = False
        self._password_sent: str | None = None
        self._conn: asyncssh.SSHClientConnection | None = None
        self.lost: asyncio.Future[Exception | None] = asyncio.get_running_loop().create_future()
        """Resolves when the connection ends, with the error that ended it (None: closed)."""

    @override
    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(exc)

    def _asking(self) -> contextlib.AbstractAsyncContextManager[None]:
        """Around a prompt: the connect clock stops and the startup place is given back."""
        self._progress.waiting_on_user()
        return self._clock.paused()

    @override
    def connection_made(self, conn: asyncssh.SSHClientConnection) -> None:
        """Before the handshake: let authentication skip the waits it need not make."""
        self._conn = conn
        self._progress.conn = conn
        pipelining.pipeline_auth(conn, self._login, self._secrets.accepted_keys)
        if _log.isEnabledFor(logging.DEBUG):
            # asyncssh's own log names connections by number; this ties one to its socket.
            conn.logger.debug1("trace: local port %s", _local_port(conn))

    @override
    def validate_host_public_key(
        self, host: str, addr: str, port: int, key: asyncssh.SSHKey
    ) -> bool:
        """Only called for keys not in known_hosts: record it for the policy to decide."""
        return self._check.validate(key)

    @override
    async def public_key_auth_requested(self) -> asyncssh.SSHKey | None:
        """After the agent and plain key files: encrypted key files, with a passphrase."""
        while self._encrypted_keys:
            path = self._encrypted_keys.pop(0)
            key = await self._unlock(path)
            if key is not None:
                return key
        return None

    async def _unlock(self, path: Path) -> asyncssh.SSHKey | None:
        if path in self._secrets.keys:
            return self._secrets.keys[path]
        for _ in range(MAX_PASSPHRASE_PROMPTS):
            async with self._asking():
                passphrase = await self._prompter.passphrase(str(path))
            if passphrase is None:
                return None
            try:
                key = asyncssh.read_private_key(path, passphrase)
            except (asyncssh.KeyImportError, asyncssh.KeyEncryptionError):
                continue
            self._secrets.keys[path] = key
            return key
        return None

    @override
    async def password_auth_requested(self) -> str | None:
        """The remembered password first, then ask, at most three times per connection."""
        return await self._password(f"{self._login}'s password: ")

    async def _password(self, prompt: str) -> str | None:
        remembered = self._take_remembered_password()
        if remembered is not None:
            return remembered
        if self._password_prompts >= MAX_PASSWORD_PROMPTS:
            return None
        self._password_prompts += 1
        async with self._asking():
            self._password_sent = await self._prompter.password(prompt)
        return self._password_sent

    def _take_remembered_password(self) -> str | None:
        """The remembered password, offered once per connection; once refused, forgotten."""
        remembered = self._secrets.passwords.get(self._login)
        if remembered is not None and not self._offered_remembered:
            self._offered_remembered = True
            self._password_sent = remembered
            return remembered
        self._secrets.passwords.pop(self._login, None)
        return None

    @override
    def auth_completed(self) -> None:
        """Remember the password or key that worked, for the next reconnect of this
        profile."""
        _log.debug("trace: authenticated as %s", self._login)
        if self._password_sent is not None:
            self._secrets.passwords[self._login] = self._password_sent
        if self._conn is not None:
            pipelining.auth_succeeded(self._conn)

    @override
    def kbdint_auth_requested(self) -> str | None:
        """Accept keyboard-interactive with whatever submethods the server picks."""
        return ""

    @override
    async def kbdint_challenge_received(
        self, name: str, instructions: str, lang: str, prompts: KbdIntPrompts
    ) -> list[str] | None:
        """Pass the server's questions to the prompter (an empty round needs no user)."""
        if not prompts:
            return []
        is_password = _is_password_prompt(prompts)
        remembered = self._take_remembered_password() if is_password else None
        if remembered is not None:
            return [remembered]
        if self._kbdint_rounds >= MAX_PASSWORD_PROMPTS:
            return None
        self._kbdint_rounds += 1
        async with self._asking():
            answers = await self._prompter.keyboard_interactive(name, instructions, prompts)
        if is_password and answers:
            self._password_sent = answers[0]
        return answers


class _Channel(asyncssh.SSHClientSession[bytes]):
    """Forwards bytes to the sink and remembers how the channel closed. With a ``scanner``
    the attach report is taken out of the first bytes and resolves ``report``."""

    def __init__(self, on_data: DataSink, scanner: tmux.AttachReportScanner | None = None) -> None:
        self._on_data = on_data
        self._scanner = scanner
        loop = asyncio.get_running_loop()
        self.closed: asyncio.Future[BaseException | None] = loop.create_future()
        self.report: asyncio.Future[tmux.AttachReport] = loop.create_future()
        # A probe cancelled before it awaited the report (another won, the user closed the
        # tab) leaves nobody to read the failure set when its channel closes: asyncio would
        # log it as "Future exception was never retrieved" in the error log, as if something
        # had gone wrong. A probe that does await the report still gets the exception.
        self.report.add_done_callback(pipelining.retrieve_quietly)

    @override
    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        """Both stdout and stderr go to the screen, as in a terminal."""
        if self._scanner is not None:
            if self._scanner.report is tmux.AttachReport.NO_TMUX:
                return  # this channel only said so and exits; a login shell follows
            if not self.report.done():
                data = self._scan(self._scanner, data)
        if data:
            self._on_data(data)

    def _scan(self, scanner: tmux.AttachReportScanner, data: bytes) -> bytes:
        try:
            shown = scanner.feed(data)
        except ValueError as exc:
            self.report.set_exception(ConnectFailedError(Cause.PROTOCOL, str(exc)))
            return b""
        if scanner.report is not None:
            self.report.set_result(scanner.report)
            if scanner.report is tmux.AttachReport.NO_TMUX:
                return b""
        return shown

    @override
    def connection_lost(self, exc: Exception | None) -> None:
        """``exc`` is None for a clean channel close, else why the connection died."""
        if self._scanner is not None and not self.report.done():
            self.report.set_exception(
                exc or ConnectFailedError(Cause.SERVER_CLOSED, "the attach command ended early")
            )
        if not self.closed.done():
            self.closed.set_result(exc)


class HostKeyUnresolvedError(Exception):
    """asyncssh refused the server's key; ``check`` holds what the policy needs to decide,
    ``reason`` asyncssh's words (for a certificate it refused itself)."""

    def __init__(self, check: HostKeyCheck, reason: str = "") -> None:
        super().__init__(f"host key of {check.name} not trusted")
        self.check = check
        self.reason = reason


def _local_port(conn: asyncssh.SSHClientConnection) -> int | None:
    sockname = conn.get_extra_info("sockname")
    return int(sockname[1]) if sockname else None


def _peer_address(sock: socket.socket | None) -> str:
    if sock is None:
        return ""
    address: str = sock.getpeername()[0]
    return address


@dataclasses.dataclass(frozen=True, slots=True)
class _Hop:
    """One SSH connection in the chain and the TCP socket under it (None when tunneled)."""

    conn: asyncssh.SSHClientConnection
    sock: socket.socket | None


async def _ping(conn: asyncssh.SSHClientConnection, channel_closed: Callable[[], bool]) -> float:
    """Round trip of an SSH global request that needs a reply (OpenSSH's keepalive); raises
    ConnectFailedError when the connection (or the link's channel) is gone."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    if conn.is_closed():
        raise ConnectFailedError(Cause.SERVER_CLOSED, "the connection is closed")
    # asyncssh has no public call for a global request; its keepalive uses this one.
    await conn._make_global_request(b"keepalive@openssh.com")
    if conn.is_closed() or channel_closed():
        # asyncssh answers pending requests with a failure when the connection drops.
        raise ConnectFailedError(Cause.SERVER_CLOSED, "the connection closed during a ping")
    return loop.time() - started


def _close_hops(hops: Sequence[_Hop]) -> None:
    """Close a chain of connections, the target first, then each jump host."""
    for hop in reversed(hops):
        hop.conn.close()


class SshLink:
    """A ``Link`` over a real asyncssh connection and PTY channel."""

    def __init__(
        self,
        hops: Sequence[_Hop],
        chan: asyncssh.SSHClientChannel[bytes],
        channel: _Channel,
        *,
        tmux_session: str | None,
        reattached_existing: bool,
        probe_timeout: float,
    ) -> None:
        self._hops = list(hops)
        self._conn = hops[-1].conn
        self._chan = chan
        self._channel = channel
        self._tmux_session = tmux_session
        self._reattached_existing = reattached_existing
        self._probe_timeout = probe_timeout
        self._closed_locally = False
        # Decided as soon as the channel closes, while the connection can still ask tmux.
        self._ending = asyncio.ensure_future(self._decide_ending())

    @property
    def tmux(self) -> bool:
        """False when the server has no tmux and this is a plain login shell."""
        return self._tmux_session is not None

    @property
    def reattached_existing(self) -> bool:
        """True when the tmux session existed before this attach."""
        return self._reattached_existing

    @property
    def socket(self) -> socket.socket | None:
        """The TCP socket carrying the link (the first hop's when tunneled)."""
        return next((hop.sock for hop in self._hops if hop.sock is not None), None)

    @property
    def connection(self) -> asyncssh.SSHClientConnection:
        """The SSH connection to the target (for running extra remote commands)."""
        return self._conn

    def write(self, data: bytes) -> None:
        """Send keystrokes; dropped silently once the channel is closing (the supervisor
        holds keys while not attached, so nothing typed after a loss is sent here)."""
        if not self._channel.closed.done() and not self._chan.is_closing():
            self._chan.write(data)

    def resize(self, cols: int, rows: int) -> None:
        """Change the PTY size (sshd signals SIGWINCH to the remote side)."""
        if not self._chan.is_closing():
            self._chan.change_terminal_size(cols, rows)

    async def ping(self) -> float:
        """Round trip of an SSH global request that needs a reply (OpenSSH's keepalive)."""
        return await _ping(self._conn, self._channel.closed.done)

    def close(self) -> None:
        """Drop the connection (and jump hops) without touching the tmux session."""
        self._closed_locally = True
        self._close_hops()

    def _close_hops(self) -> None:
        _close_hops(self._hops)

    async def wait_closed(self) -> LinkClosed:
        """Wait until the channel closes, then tell ended, detached and lost apart."""
        return await asyncio.shield(self._ending)

    async def _decide_ending(self) -> LinkClosed:
        exc = await self._channel.closed
        try:
            return await self._ending_after(exc)
        finally:
            self._close_hops()

    async def _ending_after(self, exc: BaseException | None) -> LinkClosed:
        if self._closed_locally:
            return LinkClosed(Ending.LOST, Cause.LOCAL, "closed by termkeep")
        if exc is not None:
            return LinkClosed(Ending.LOST, classify(exc), describe(exc))
        if self._tmux_session is None:
            return LinkClosed(Ending.ENDED, None, "the shell exited")
        try:
            alive = await self._session_alive(self._tmux_session)
        except (asyncssh.Error, OSError, TimeoutError) as probe_error:
            return LinkClosed(Ending.LOST, classify(probe_error), describe(probe_error))
        return self._tmux_ending(alive)

    def _tmux_ending(self, alive: bool) -> LinkClosed:
        status = self._chan.get_exit_status()
        verdict = tmux.TmuxExit(status if status is not None and status >= 0 else None, alive)
        if verdict.detached:
            return LinkClosed(Ending.DETACHED, None, "detached from tmux")
        if verdict.ended:
            return LinkClosed(Ending.ENDED, None, "the tmux session ended")
        if alive:
            return LinkClosed(Ending.LOST, Cause.SERVER_CLOSED, "the tmux client stopped")
        return LinkClosed(Ending.LOST, Cause.SERVER_CLOSED, "the tmux server on the host exited")

    async def _session_alive(self, session: str) -> bool:
        result = await self._conn.run(
            tmux.has_session_command(session),
            check=False,
            request_pty=False,
            timeout=self._probe_timeout,
        )
        return result.exit_status == tmux.ProbeResult.EXISTS


class ConnectionLink:
    """A ``Link`` that is only the SSH connection: no channel, no PTY, no tmux. It carries
    ``termkeep tunnel``'s forwards, which a fresh connection takes over completely; so, in
    the supervisor's terms, every new link continues the same "session" (``tmux`` and
    ``reattached_existing`` are True: probes may race the old link, nothing is lost)."""

    tmux = True
    reattached_existing = True

    def __init__(self, hops: Sequence[_Hop], lost: asyncio.Future[Exception | None]) -> None:
        self._hops = list(hops)
        self._conn = hops[-1].conn
        self._lost = lost
        self._closed_locally = False

    @property
    def connection(self) -> asyncssh.SSHClientConnection:
        return self._conn

    def write(self, data: bytes) -> None:
        """Nothing to type into: keys are not read by ``termkeep tunnel``."""

    def resize(self, cols: int, rows: int) -> None:
        """No PTY to resize."""

    async def ping(self) -> float:
        return await _ping(self._conn, lambda: False)

    def close(self) -> None:
        self._closed_locally = True
        _close_hops(self._hops)

    async def wait_closed(self) -> LinkClosed:
        """A bare connection only ever ends by being lost (or closed by termkeep)."""
        exc = await asyncio.shield(self._lost)
        _close_hops(self._hops)
        if self._closed_locally:
            return LinkClosed(Ending.LOST, Cause.LOCAL, "closed by termkeep")
        if exc is None:
            return LinkClosed(Ending.LOST, Cause.SERVER_CLOSED, "the server closed the connection")
        return LinkClosed(Ending.LOST, classify(exc), describe(exc))


@dataclasses.dataclass(frozen=True, slots=True)
class _Target:
    """Where one hop connects, after ``~/.ssh/config`` (when used) is applied."""

    host: str
    port: int
    user: str | None
    jump: str | None
    host_keys: HostKeySettings
    proxy_command: list[str] | None = None
    """ssh_config's ProxyCommand as ssh runs it (through the shell); it carries the
    connection instead of a TCP connect of ours, so the profile's TCP options cannot apply."""
    host_key_algs_from_config: bool = False
    """ssh_config sets HostKeyAlgorithms: asyncssh applies it as written."""


def _config_arg(profile: Profile, ssh_config: Sequence[Path] | None) -> Any:
    # An empty list turns asyncssh's ssh_config reading off.
    if not profile.use_ssh_config:
        return []
    return [str(path) for path in config_paths(ssh_config)]


def _destination_args(profile: Profile) -> dict[str, Any]:
    """host/port/username as asyncssh gets them, so ssh_config's ``Host`` blocks match the
    profile's host as typed and fill in what the profile leaves unset."""
    if not profile.use_ssh_config:
        return {"host": profile.host, "port": profile.port, "username": profile.user or ()}
    return {
        "host": profile.host,
        # Port 22 is the profile default, so it lets ssh_config's Port apply.
        "port": profile.port if profile.port != DEFAULT_SSH_PORT else (),
        "username": profile.user or (),
    }


async def _resolve_target(profile: Profile, ssh_config: Sequence[Path] | None) -> _Target:
    if not profile.use_ssh_config:
        return _Target(
            profile.host, profile.port, profile.user, profile.jump, host_key_settings(profile)
        )
    options = await asyncssh.SSHClientConnectionOptions.construct(
        config=_config_arg(profile, ssh_config),
        **_destination_args(profile),
        client_keys=None,
        known_hosts=None,
    )
    given = _destination_args(profile)
    ours = read_ssh_options(
        config_paths(ssh_config), profile.host, profile.user, given["port"] or None
    )
    # The profile's own jump wins; else ssh_config's ProxyJump, unless a ProxyCommand came
    # first there (ssh takes whichever of the two is written first).
    jump = profile.jump or ours.proxy_jump
    return _Target(
        options.host,
        options.port,
        options.username,
        jump,
        host_key_settings(profile, ours),
        None if jump else ours.proxy_argv(),
        ours.host_key_algorithms,
    )


def _paths(names: Sequence[str]) -> tuple[Path, ...]:
    return tuple(Path(name).expanduser() for name in names)


def host_key_settings(profile: Profile, ssh: SshOptions | None = None) -> HostKeySettings:
    """The profile's host key options; what it leaves unset comes from ssh_config (when it
    uses it), then from OpenSSH's defaults. The profile's own known_hosts file is read
    first and receives accepted keys."""
    ssh = ssh or SshOptions()
    if profile.user_known_hosts_files:
        user_files = _paths(profile.user_known_hosts_files)
    elif ssh.user_known_hosts is not None:
        user_files = _paths(ssh.user_known_hosts)
    else:
        user_files = _paths(DEFAULT_USER_KNOWN_HOSTS)
    own = _known_hosts_file(profile)
    if own is not None:
        user_files = (own, *(path for path in user_files if path != own))
    if profile.global_known_hosts_files:
        global_files = _paths(profile.global_known_hosts_files)
    elif ssh.global_known_hosts is not None:
        global_files = _paths(ssh.global_known_hosts)
    else:
        global_files = _paths(DEFAULT_GLOBAL_KNOWN_HOSTS)
    if profile.strict_host_key_checking is not None:
        strict = StrictHostKeyChecking.parse(profile.strict_host_key_checking)
    else:
        strict = ssh.strict_host_key_checking or StrictHostKeyChecking.ASK
    return HostKeySettings(
        user_files=user_files,
        global_files=global_files,
        strict=strict,
        alias=profile.host_key_alias or ssh.host_key_alias,
        check_host_ip=bool(ssh.check_host_ip),
        revoked_files=_paths(ssh.revoked_host_keys),
        # termkeep hashes unless ssh_config says not to (Debian's ssh_config says yes).
        hash_saved_hosts=ssh.hash_known_hosts is not False,
    )


def parse_jump_spec(spec: str) -> tuple[str | None, str, int]:
    """``[user@]host[:port]`` (one ProxyJump element) as (user, host, port)."""
    user, _, hostport = spec.rpartition("@")
    host, port = hostport, DEFAULT_SSH_PORT
    if hostport.startswith("["):
        host, _, rest = hostport[1:].partition("]")
        if rest.startswith(":"):
            port = _parse_port(rest[1:], spec)
    elif hostport.count(":") == 1:
        host, _, port_text = hostport.partition(":")
        port = _parse_port(port_text, spec)
    if not host:
        raise ValueError(f"jump host {spec!r} has no host name: use [user@]host[:port]")
    return (user or None), host, port


def _parse_port(text: str, spec: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"jump host {spec!r} has a bad port: use [user@]host[:port]")
    return int(text)


def jump_chain(
    profile: Profile, lookup: ProfileLookup | None, jump: str | None = None
) -> list[Profile]:
    """The profiles to connect through, outermost first, for ``profile``'s jump setting.

    Each element is another profile's name or ``[user@]host[:port]`` (which then borrows
    the target's keys and known_hosts file). Raises ValueError for a loop or a bad spec.
    """
    chain: list[Profile] = []
    _collect_jumps(profile, lookup, jump or profile.jump, chain, on_path={profile.name})
    return chain


def _collect_jumps(
    profile: Profile,
    lookup: ProfileLookup | None,
    jump: str | None,
    chain: list[Profile],
    on_path: set[str],
) -> None:
    """Append the hops of ``jump`` (each preceded by its own jumps) to ``chain``."""
    for spec in (part.strip() for part in (jump or "").split(",")):
        if not spec:
            continue
        hop = _jump_profile(profile, spec, lookup)
        if hop.name in on_path or len(chain) >= MAX_JUMP_HOPS:
            raise ValueError(
                f"the jump hosts of {profile.name!r} loop or are more than {MAX_JUMP_HOPS}: "
                "fix the profile's jump setting"
            )
        _collect_jumps(hop, lookup, hop.jump, chain, on_path | {hop.name})
        chain.append(dataclasses.replace(hop, jump=None))


def _jump_profile(target: Profile, spec: str, lookup: ProfileLookup | None) -> Profile:
    saved = lookup(spec) if lookup is not None else None
    if saved is not None:
        return saved
    user, host, port = parse_jump_spec(spec)
    # The target's HostKeyAlias names the target's key, never the jump host's.
    return dataclasses.replace(
        target,
        name=f"{target.name} via {spec}",
        host=host,
        port=port,
        user=user,
        jump=None,
        host_key_alias=None,
    )


def _identity_files(profile: Profile) -> tuple[list[str], list[Path]]:
    """(files for asyncssh, encrypted files to unlock with a prompt when reached)."""
    if profile.identity_files:
        paths = [Path(name).expanduser() for name in profile.identity_files]
        missing = [str(path) for path in paths if not path.is_file()]
        if missing:
            # Not retryable: no reconnect makes the file appear, so the user must act.
            raise ConnectFailedError(
                Cause.AUTH_FAILED,
                f"identity file {', '.join(missing)} not found: fix the profile's identity_files",
            )
    elif not profile.use_ssh_config:
        paths = [Path("~/.ssh", name).expanduser() for name in DEFAULT_KEY_FILES]
        paths = [path for path in paths if path.exists()]
    else:
        return [], []
    return [str(path) for path in paths], [path for path in paths if _is_encrypted_key(path)]


def _known_hosts_file(profile: Profile) -> Path | None:
    return Path(profile.known_hosts_file).expanduser() if profile.known_hosts_file else None


class SshConnector:
    """Makes fresh connections for one profile; the supervisor calls it for every attach.

    Host key decisions (a key accepted once, a key that changed) are kept across calls, so
    a reconnect never asks again and never goes to a host whose key changed.
    """

    def __init__(
        self,
        profile: Profile,
        prompter: Prompter,
        *,
        lookup_profile: ProfileLookup | None = None,
        policy: HostKeyPolicy | None = None,
        ssh_config: Sequence[Path] | None = None,
        session: bool = True,
        adopt_tmux_session: str | None = None,
    ) -> None:
        self.profile = profile
        self._prompter = prompter
        self._lookup = lookup_profile
        self._ssh_config = ssh_config
        # One policy for every hop and every reconnect: a key accepted once stays accepted,
        # a name whose key changed is never contacted again.
        self.policy = policy or HostKeyPolicy(prompter)
        self._told_no_tmux = False
        self._secrets = RememberedSecrets()
        self.session = session
        """Attach a PTY session (tmux or a shell); False makes bare ``ConnectionLink``s."""
        self._adopt_tmux_session = adopt_tmux_session
        """An older name of the profile's tmux session, renamed to today's on attach when
        only it exists (``tmux.reporting_attach_command``)."""
        # Fail early on a bad jump setting: a clear error instead of a failed connect.
        jump_chain(profile, lookup_profile)

    async def __call__(
        self, on_data: DataSink, size: tuple[int, int], reached: ReachedSink | None = None
    ) -> SshLink | ConnectionLink:
        """Connect, attach and return the link; raises ``ConnectFailedError``. ``reached``
        is called when the first hop's server answered the TCP handshake."""
        hops: list[_Hop] = []
        progress = _Progress()
        try:
            _identity_files(self.profile)  # a missing key file fails before any network use
            hops = await self._open_hops(reached, progress)
            if not self.session:
                return ConnectionLink(hops, self._client_of(hops[-1].conn).lost)
            return await self._attach(hops, on_data, size)
        except BaseException as exc:
            for hop in reversed(hops):
                hop.conn.abort()
            if isinstance(exc, Exception):
                raise connect_failed(exc, progress.stage) from exc
            raise

    @contextlib.asynccontextmanager
    async def command_connection(self) -> AsyncIterator[asyncssh.SSHClientConnection]:
        """A fresh connection to the target for running commands (no PTY, no tmux attach),
        opened exactly like an attach's: jump hosts, host key policy, auth and prompts.
        Closed, with its hops, on exit. Raises ``ConnectFailedError``."""
        try:
            _identity_files(self.profile)
            hops = await self._open_hops()  # aborts its own hops when it fails
        except Exception as exc:
            raise connect_failed(exc) from exc
        try:
            yield hops[-1].conn
        finally:
            for hop in reversed(hops):
                hop.conn.close()

    @staticmethod
    def _client_of(conn: asyncssh.SSHClientConnection) -> _Client:
        return cast(_Client, conn.get_owner())

    async def _open_hops(
        self, reached: ReachedSink | None = None, progress: _Progress | None = None
    ) -> list[_Hop]:
        progress = progress or _Progress()
        target = await _resolve_target(self.profile, self._ssh_config)
        chain = await self._jump_hops(self.profile, target)
        hops: list[_Hop] = []
        try:
            for jump_profile, jump_target in chain:
                hops.append(
                    await self._open_hop(jump_profile, jump_target, hops, progress, reached)
                )
            hops.append(await self._open_hop(self.profile, target, hops, progress, reached))
        except BaseException:
            for hop in reversed(hops):
                hop.conn.abort()
            raise
        return hops

    async def _jump_hops(
        self, profile: Profile, target: _Target, depth: int = 0
    ) -> list[tuple[Profile, _Target]]:
        """The hosts to go through before ``target``, outermost first. As with ssh, the
        first of them is reached the way ssh_config says for it: its own ProxyCommand, or
        its own ProxyJump, followed in turn."""
        hops = [
            (hop, await _resolve_target(hop, self._ssh_config))
            for hop in jump_chain(profile, self._lookup, target.jump)
        ]
        if not hops or not hops[0][1].jump:
            return hops
        if depth >= MAX_JUMP_HOPS:
            raise ConnectFailedError(
                Cause.CONFIG,
                f"the ProxyJump hosts of {self.profile.name!r} loop or are more than "
                f"{MAX_JUMP_HOPS} deep: fix ssh_config",
            )
        first, first_target = hops[0]
        return await self._jump_hops(first, first_target, depth + 1) + hops

    async def _open_hop(
        self,
        profile: Profile,
        target: _Target,
        before: list[_Hop],
        progress: _Progress,
        reached: ReachedSink | None = None,
    ) -> _Hop:
        """One SSH connection, retried once after the user accepts an unknown host key."""
        clock = ConnectClock(profile.reconnect.connect_timeout)
        tunnel = before[-1].conn if before else None
        # Only the first hop's handshake says the network is back.
        reached = None if before else reached
        try:
            try:
                return await self._attempt(
                    profile, target, clock, tunnel, progress=progress, reached=reached
                )
            except HostKeyUnresolvedError as unresolved:
                async with clock.paused():
                    await self.policy.resolve(unresolved.check, unresolved.reason)
            return await self._attempt(
                profile, target, clock, tunnel, progress=progress, reached=reached
            )
        except HostKeyUnresolvedError as still:
            raise ConnectFailedError(
                Cause.HOST_KEY_UNKNOWN, f"{target.host} presented a key that is not trusted"
            ) from still
        except TimeoutError:
            raise ConnectFailedError(
                Cause.TIMEOUT, f"no answer from {target.host} within {clock.budget:g} s"
            ) from None

    async def _attempt(
        self,
        profile: Profile,
        target: _Target,
        clock: ConnectClock,
        tunnel: asyncssh.SSHClientConnection | None,
        *,
        progress: _Progress,
        reached: ReachedSink | None = None,
    ) -> _Hop:
        self.policy.refuse_if_changed(target.host_keys.lookup_name(target.host, target.port))
        with holding(await startup_gate(target.host, target.port).enter()) as admission:
            progress.next_hop(admission)
            return await self._attempt_admitted(
                profile, target, clock, tunnel, progress=progress, reached=reached
            )

    async def _attempt_admitted(
        self,
        profile: Profile,
        target: _Target,
        clock: ConnectClock,
        tunnel: asyncssh.SSHClientConnection | None,
        *,
        progress: _Progress,
        reached: ReachedSink | None = None,
    ) -> _Hop:
        policy = self.policy
        sock = None
        if tunnel is None and target.proxy_command is None:
            sock = await self._open_socket(profile, target, clock, progress)
        if reached is not None:
            # With a ProxyCommand there is no SYN of ours to wait on: reached at once.
            reached()
        try:
            check = policy.check(target.host_keys, target.host, target.port, _peer_address(sock))
            connecting = self._ssh_connect(
                profile=profile,
                target=target,
                check=check,
                clock=clock,
                sock=sock,
                tunnel=tunnel,
                progress=progress,
            )
            try:
                conn = await clock.run(connecting)
            except asyncssh.HostKeyNotVerifiable as refused:
                raise HostKeyUnresolvedError(check, refused.reason) from None
        except BaseException:
            if sock is not None:
                sock.close()  # asyncssh closes it too once it owns it; closing twice is fine
            raise
        if sock is not None:
            # asyncssh forces TCP_NODELAY on; the profile may say otherwise.
            apply_tcp_options(sock, profile.tcp)
        if check.warnings:
            async with clock.paused():
                await policy.report(check)
        return _Hop(conn, sock)

    @staticmethod
    async def _open_socket(
        profile: Profile, target: _Target, clock: ConnectClock, progress: _Progress
    ) -> socket.socket:
        admission = progress.admission
        if admission is not None:
            admission.release_unless_connected()
        try:
            sock = await clock.run(open_tcp(target.host, target.port, profile.tcp))
        except socket.gaierror as exc:
            raise lookup_failed(target.host, exc) from exc
        if admission is not None:
            admission.connected()
        progress.tcp_connected = True
        return sock

    async def _ssh_connect(
        self,
        *,
        profile: Profile,
        target: _Target,
        check: HostKeyCheck,
        clock: ConnectClock,
        sock: socket.socket | None,
        tunnel: asyncssh.SSHClientConnection | None,
        progress: _Progress,
    ) -> asyncssh.SSHClientConnection:
        key_files, encrypted = _identity_files(profile)
        login = f"{target.user or ''}@{target.host}".lstrip("@")
        client = _Client(
            check=check,
            prompter=self._prompter,
            clock=clock,
            login=login,
            encrypted_keys=encrypted,
            secrets=self._secrets,
            progress=progress,
        )
        options: dict[str, object] = {
            "config": _config_arg(profile, self._ssh_config),
            "sock": sock,
            "tunnel": tunnel,
            # None (not "unset") keeps asyncssh from running ssh_config's command its own way.
            "proxy_command": target.proxy_command if sock is None and tunnel is None else None,
            "client_factory": lambda: client,
            "known_hosts": check.known_hosts,
            "host_key_alias": target.host_keys.alias,
            "server_host_key_algs": () if target.host_key_algs_from_config else check.host_key_algs,
            "client_keys": key_files or (),
            "ignore_encrypted": True,
            "agent_forwarding": profile.agent_forwarding,
            "keepalive_interval": profile.keepalive.interval,
            "keepalive_count_max": profile.keepalive.count_max,
            "tcp_keepalive": profile.tcp.keepalive,
            "connect_timeout": None,
            "encoding": None,
            "encryption_algs": preferred_ciphers(),
            # Like OpenSSH on Debian (SendEnv LANG LC_*): the remote programs get our locale.
            "send_env": list(LOCALE_VARIABLES),
        }
        # The socket (or tunnel) already reaches ``target``; the profile's own names go to
        # asyncssh so its ssh_config lookup matches the same Host block as ours did.
        return await asyncssh.connect(**_destination_args(profile), **options)

    async def _attach(self, hops: list[_Hop], on_data: DataSink, size: tuple[int, int]) -> SshLink:
        conn = hops[-1].conn
        timeout = self.profile.reconnect.connect_timeout
        if self.profile.tmux.enabled:
            session = tmux.sanitize_session_name(self.profile.tmux_session_name)
            attached = await asyncio.wait_for(
                self._attach_tmux(conn, session, on_data, size), timeout
            )
            if attached is not None:
                chan, channel, existed = attached
                return self._link(hops, chan, channel, session, existed=existed)
            await self._tell_no_tmux()
        chan, channel = await asyncio.wait_for(
            self._open_pty(conn, None, _Channel(on_data), size), timeout
        )
        return self._link(hops, chan, channel, None, existed=False)

    def _link(
        self,
        hops: list[_Hop],
        chan: asyncssh.SSHClientChannel[bytes],
        channel: _Channel,
        session: str | None,
        *,
        existed: bool,
    ) -> SshLink:
        return SshLink(
            hops,
            chan,
            channel,
            tmux_session=session,
            reattached_existing=existed,
            probe_timeout=self.profile.reconnect.connect_timeout,
        )

    async def _attach_tmux(
        self,
        conn: asyncssh.SSHClientConnection,
        session: str,
        on_data: DataSink,
        size: tuple[int, int],
    ) -> tuple[asyncssh.SSHClientChannel[bytes], _Channel, bool] | None:
        """Attach in one command that first reports whether the session existed (the tmux
        probe costs no round trip of its own); None when the server has no tmux."""
        nonce = secrets.token_hex(8)
        channel = _Channel(on_data, tmux.AttachReportScanner(nonce))
        command = tmux.reporting_attach_command(session, nonce, self._adopt_tmux_session)
        chan, _ = await self._open_pty(conn, command, channel, size)
        try:
            report = await channel.report
        except BaseException:
            chan.abort()
            raise
        _log.debug("trace: attached port=%s report=%s", _local_port(conn), report)
        if report is tmux.AttachReport.NO_TMUX:
            chan.close()
            return None
        return chan, channel, report is tmux.AttachReport.EXISTED

    async def _open_pty(
        self,
        conn: asyncssh.SSHClientConnection,
        command: str | None,
        channel: _Channel,
        size: tuple[int, int],
    ) -> tuple[asyncssh.SSHClientChannel[bytes], _Channel]:
        _log.debug("trace: opening the session channel")
        chan, _ = await pipelining.open_pty_session(
            conn,
            lambda: channel,
            command,
            term_type=self.profile.term,
            term_size=size,
            send_env=list(LOCALE_VARIABLES),
            # A missing local DISPLAY or a server refusing X11 must not cost the session.
            x11_forwarding="ignore_failure" if self.profile.x11_forwarding else False,
        )
        _log.debug("trace: session channel open, command running")
        return chan, channel

    async def _tell_no_tmux(self) -> None:
        if not self._told_no_tmux:
            self._told_no_tmux = True
            await self._prompter.notice(tmux.no_tmux_notice(self.profile.host))


def make_connector(
    profile: Profile,
    prompter: Prompter,
    *,
    lookup_profile: ProfileLookup | None = None,
    policy: HostKeyPolicy | None = None,
    ssh_config: Sequence[Path] | None = None,
) -> Connector:
    """The ``Connector`` the supervisor uses for ``profile``: each call makes one fresh
    connection and attaches the tab's tmux session."""
    connector = SshConnector(
        profile, prompter, lookup_profile=lookup_profile, policy=policy, ssh_config=ssh_config
    )

    async def connect(
        on_data: DataSink, size: tuple[int, int], reached: ReachedSink | None = None, /
    ) -> Link:
        return await connector(on_data, size, reached)

    return connect
