"""Host key trust: known_hosts lookup, trust on first use, and refusing changed keys.

asyncssh checks host keys synchronously and never writes known_hosts, so the policy here is
split in two. Before connecting, ``HostKeyCheck`` looks the host up and hands asyncssh the
trusted keys; during the handshake it records the key the server presented. When asyncssh
then refuses the key, the connection code asks ``HostKeyPolicy.resolve`` what to do, which
may prompt the user (asynchronously) and append the key to known_hosts before one retry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh
from asyncssh.public_key import get_default_certificate_algs, get_default_public_key_algs

from termkeep.transport.link import Cause, ConnectFailedError
from termkeep.transport.prompts import HostKeyDecision, Prompter

DEFAULT_SSH_PORT = 22


def user_known_hosts() -> Path:
    """OpenSSH's per-user known_hosts file."""
    return Path("~/.ssh/known_hosts").expanduser()


def fingerprint(key: asyncssh.SSHKey) -> str:
    """The key's ``SHA256:…`` fingerprint, exactly as OpenSSH prints it."""
    return key.get_fingerprint("sha256")


def host_pattern(host: str, port: int) -> str:
    """How known_hosts names a host: ``host`` on port 22, else ``[host]:port``."""
    return host if port == DEFAULT_SSH_PORT else f"[{host}]:{port}"


def known_hosts_line(host: str, port: int, key: asyncssh.SSHKey, *, hashed: bool) -> str:
    """One known_hosts line for ``key`` (without newline), hashed like OpenSSH's
    ``HashKnownHosts yes`` (``|1|salt|hmac``) or in plain text."""
    name = host_pattern(host, port)
    if hashed:
        salt = secrets.token_bytes(20)
        digest = hmac.new(salt, name.encode(), hashlib.sha1).digest()
        name = f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"
    key_data = base64.b64encode(key.public_data).decode()
    return f"{name} {key.get_algorithm()} {key_data}"


@dataclass(frozen=True, slots=True)
class KnownEntry:
    """Where a trusted key for a host is written down, for the changed-key warning."""

    path: Path
    line: int
    key: asyncssh.SSHKey


def _port_arg(port: int) -> int | None:
    # asyncssh matches port 22 as a bare host name, like OpenSSH.
    return None if port == DEFAULT_SSH_PORT else port


def _read_entries(path: Path) -> list[tuple[int, asyncssh.SSHKnownHosts]]:
    """Each parsable line of a known_hosts file with its line number. A missing file is
    empty; a line asyncssh cannot parse is skipped rather than breaking every connect."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    except OSError as error:
        # Not retryable: connecting without the file could trust a key it would refuse.
        raise ConnectFailedError(
            Cause.HOST_KEY_UNKNOWN,
            f"cannot read known_hosts file {path} ({error.strerror}): fix or remove it",
        ) from None
    entries: list[tuple[int, asyncssh.SSHKnownHosts]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            entries.append((number, asyncssh.import_known_hosts(stripped)))
        except (ValueError, asyncssh.KeyImportError):
            continue
    return entries


type KnownHostsMatch = tuple[
    list[asyncssh.SSHKey], list[asyncssh.SSHKey], list[asyncssh.SSHKey], list[object]
]


@dataclass
class HostKeyCheck:
    """The host key lookup for one connection attempt to one host.

    ``known_hosts`` is what asyncssh gets as its ``known_hosts=`` argument;
    ``validate`` is called from the SSH client's ``validate_host_public_key`` for a key
    that is not in it, and records that key so ``HostKeyPolicy.resolve`` can decide.
    """

    host: str
    port: int
    entries: list[KnownEntry]
    ca_keys: list[asyncssh.SSHKey]
    revoked_keys: list[asyncssh.SSHKey]
    session_keys: list[asyncssh.SSHKey]
    presented: asyncssh.SSHKey | None = None

    @property
    def trusted_keys(self) -> list[asyncssh.SSHKey]:
        """Keys from known_hosts plus keys accepted once during this run."""
        return [entry.key for entry in self.entries] + self.session_keys

    @property
    def known_hosts(self) -> tuple[list[asyncssh.SSHKey], ...]:
        """asyncssh's pre-matched form: trusted host keys, CA keys, revoked keys."""
        return (self.trusted_keys, self.ca_keys, self.revoked_keys)

    @property
    def host_key_algs(self) -> list[str] | str:
        """Offer the algorithms of keys we already trust first, then every default one.

        Offering only the known ones (asyncssh's default) makes a server whose key type
        changed fail key exchange, which looks like a reset; offering the default order
        alone could pick a second, untrusted key type and look like a changed key.
        """
        known: list[bytes] = []
        for key in self.trusted_keys:
            known.extend(alg for alg in key.sig_algorithms if alg not in known)
        if not known:
            return "default"
        defaults = get_default_certificate_algs() + get_default_public_key_algs()
        ordered = known + [alg for alg in defaults if alg not in known]
        return [alg.decode() for alg in ordered]

    def validate(self, key: asyncssh.SSHKey) -> bool:
        """Record the presented key; it is trusted only if it was accepted this run."""
        self.presented = key
        return key in self.session_keys


@dataclass
class HostKeyPolicy:
    """Trust decisions shared by every connection of one profile (reconnects included).

    Keys come from ``~/.ssh/known_hosts`` plus the profile's own file; an accepted key is
    saved to the profile's file when it has one, else to ``~/.ssh/known_hosts``.
    """

    prompter: Prompter
    profile_file: Path | None = None
    user_file: Path = field(default_factory=user_known_hosts)
    hash_saved_hosts: bool = True
    _session_keys: dict[tuple[str, int], list[asyncssh.SSHKey]] = field(default_factory=dict)
    _changed: set[tuple[str, int]] = field(default_factory=set)

    @property
    def files(self) -> list[Path]:
        """The known_hosts files consulted, in order."""
        files = [self.user_file]
        if self.profile_file is not None and self.profile_file != self.user_file:
            files.append(self.profile_file)
        return files

    @property
    def save_file(self) -> Path:
        """Where an accepted key is appended."""
        return self.profile_file or self.user_file

    def refuse_if_changed(self, host: str, port: int) -> None:
        """Raise before any packet is sent to a host whose key changed earlier in this run:
        it is never retried, not even a TCP connect."""
        if (host, port) in self._changed:
            raise ConnectFailedError(
                Cause.HOST_KEY_CHANGED,
                f"the host key of {host_pattern(host, port)} changed; fix known_hosts first",
            )

    def check(self, host: str, port: int, addr: str = "") -> HostKeyCheck:
        """Look ``host`` up before the SSH handshake (``addr`` is the peer's address)."""
        self.refuse_if_changed(host, port)
        entries: list[KnownEntry] = []
        ca_keys: list[asyncssh.SSHKey] = []
        revoked: list[asyncssh.SSHKey] = []
        for path in self.files:
            for number, known in _read_entries(path):
                host_keys, cas, revokes, *_ = known.match(host, addr, _port_arg(port))
                entries.extend(KnownEntry(path, number, key) for key in host_keys)
                ca_keys.extend(cas)
                revoked.extend(revokes)
        session_keys = self._session_keys.setdefault((host, port), [])
        return HostKeyCheck(host, port, entries, ca_keys, revoked, session_keys)

    async def resolve(self, check: HostKeyCheck) -> None:
        """Called after asyncssh refused the server's key. Returns when the key is now
        trusted (retry once); raises ``ConnectFailedError`` when it is not."""
        key = check.presented
        if key is None:
            # Refused for another reason (revoked key, bad certificate): never prompt.
            raise ConnectFailedError(
                Cause.HOST_KEY_UNKNOWN,
                f"the host key of {host_pattern(check.host, check.port)} is revoked or invalid",
            )
        if check.trusted_keys:
            await self._refuse_changed(check, key)
        decision = await self.prompter.unknown_host_key(
            check.host, check.port, key.get_algorithm(), fingerprint(key)
        )
        if decision is HostKeyDecision.REJECT:
            raise ConnectFailedError(
                Cause.HOST_KEY_UNKNOWN,
                f"the host key of {host_pattern(check.host, check.port)} "
                f"({fingerprint(key)}) is not trusted",
            )
        check.session_keys.append(key)
        if decision is HostKeyDecision.ACCEPT_AND_SAVE:
            self.save(check.host, check.port, key)

    async def _refuse_changed(self, check: HostKeyCheck, key: asyncssh.SSHKey) -> None:
        self._changed.add((check.host, check.port))
        await self.prompter.changed_host_key(changed_key_warning(check, key))
        raise ConnectFailedError(
            Cause.HOST_KEY_CHANGED,
            f"the host key of {host_pattern(check.host, check.port)} changed "
            f"(now {fingerprint(key)}); refusing to connect",
        )

    def save(self, host: str, port: int, key: asyncssh.SSHKey) -> None:
        """Append ``key`` for ``host`` to the save file (created 0600 in a 0700 directory)."""
        path = self.save_file
        if not path.parent.exists():
            path.parent.mkdir(mode=0o700, parents=True)
        line = known_hosts_line(host, port, key, hashed=self.hash_saved_hosts) + "\n"
        if _lacks_final_newline(path):
            line = "\n" + line
        # O_APPEND, never a rewrite: the user's file (and its comments) stays as it was.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as out:
            out.write(line)


def _lacks_final_newline(path: Path) -> bool:
    try:
        with path.open("rb") as existing:
            existing.seek(0, os.SEEK_END)
            if existing.tell() == 0:
                return False
            existing.seek(-1, os.SEEK_END)
            return existing.read(1) != b"\n"
    except FileNotFoundError:
        return False


def changed_key_warning(check: HostKeyCheck, key: asyncssh.SSHKey) -> str:
    """The warning shown when a known host presents a different key, modelled on OpenSSH's
    (same headline, so people recognise it), with termkeep's way out."""
    name = host_pattern(check.host, check.port)
    lines = [
        "@" * 59,
        "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @",
        "@" * 59,
        "IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!",
        "Someone could be eavesdropping on you right now (man-in-the-middle attack)!",
        "It is also possible that a host key has just been changed.",
        f"The fingerprint for the {key.get_algorithm()} key sent by {name} is",
        f"{fingerprint(key)}.",
    ]
    lines.extend(_where_known(check.entries))
    for path in sorted({entry.path for entry in check.entries}):
        lines.append(
            f"If the change is expected, remove the old key with: "
            f"ssh-keygen -R {shlex.quote(name)} -f {shlex.quote(str(path))}"
        )
    lines.append(f"termkeep will not connect to {name} until the old key is removed.")
    return "\n".join(lines)


def _where_known(entries: Sequence[KnownEntry]) -> list[str]:
    if not entries:
        return ["The old key was accepted earlier in this session (it was not saved)."]
    return [
        f"Offending {entry.key.get_algorithm()} key in {entry.path}:{entry.line} "
        f"({fingerprint(entry.key)})"
        for entry in entries
    ]
