"""Authentication: asyncssh's client callbacks (host key recording, passwords, passphrases,
keyboard-interactive), the answers remembered for reconnects, and the connect clock that
stops while the user types.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Sequence
from pathlib import Path
from typing import override

import asyncssh

from termkeep.config.profile import Profile
from termkeep.transport import pipelining
from termkeep.transport.admission import Ticket
from termkeep.transport.hostkeys import HostKeyCheck
from termkeep.transport.link import Cause, ConnectFailedError, Stage
from termkeep.transport.prompts import KbdIntPrompts, Prompter

_log = logging.getLogger(__name__)

MAX_PASSWORD_PROMPTS = 3
"""Like OpenSSH's NumberOfPasswordPrompts; also caps keyboard-interactive rounds."""

MAX_PASSPHRASE_PROMPTS = 3
DEFAULT_KEY_FILES = ("id_ed25519", "id_ecdsa", "id_rsa")


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
class AttemptProgress:
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


class AuthClient(asyncssh.SSHClient):
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
        progress: AttemptProgress | None = None,
    ) -> None:
        self._check = check
        self._progress = progress or AttemptProgress()
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
            conn.logger.debug1("trace: local port %s", local_port(conn))

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


def local_port(conn: asyncssh.SSHClientConnection) -> int | None:
    sockname = conn.get_extra_info("sockname")
    return int(sockname[1]) if sockname else None


def identity_files(profile: Profile) -> tuple[list[str], list[Path]]:
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
