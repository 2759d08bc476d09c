"""Host key trust, judged as OpenSSH judges it, with trust on first use and no way past a
changed key.

The rules are OpenSSH's (``check_host_key`` in sshconnect.c), learned from its source and
checked against the ``ssh`` binary by tests/integration/test_hostkeys_differential.py:

- The host is looked up by one name: its HostKeyAlias if it has one, else the host name for
  port 22 and ``[host]:port`` for other ports. Lines for other names (the address, the same
  host on another port) do not count.
- A listed key equal to the server's: trusted. Another key listed for the name, of any type:
  *changed*. Nothing listed: *unknown*. A ``@revoked`` line for the key: refused.
- Only for an unknown key on a port other than 22 without an alias: a port-less line with
  exactly this key is enough (what ssh's "checking without port identifier" does). A
  port-less line with another key leaves the key unknown, not changed.
- ``@cert-authority`` lines trust host certificates (asyncssh checks them, principals and
  validity included); certificate algorithms are offered only when such a line matches.
- An unknown key is asked about (StrictHostKeyChecking ``ask``), refused (``yes``) or saved
  at once (``accept-new`` and ``no``), to the first user known_hosts file.
- CheckHostIP (off unless ssh_config turns it on) may only add a warning, or refuse where
  ssh refuses: it never makes a key trusted.

One deliberate difference: a changed or revoked key is never connected to, even with
StrictHostKeyChecking ``no`` (where ssh connects with passwords and forwarding off).

asyncssh checks host keys synchronously and never writes known_hosts, so the work is split.
Before connecting, ``HostKeyPolicy.check`` reads the files into a ``HostKeyCheck``; during the
handshake asyncssh calls its ``validate``, which judges the key. When the key is not trusted
the connection code awaits ``HostKeyPolicy.resolve``, which may ask the user and save the key
before one retry, or raises.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import secrets
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from pathlib import Path

import asyncssh

from termkeep.platform.files import ensure_private_dir
from termkeep.transport.known_hosts import (
    DEFAULT_SSH_PORT,
    SHA1_LENGTH,
    HostEntries,
    KnownEntry,
    KnownHostsFiles,
    Marker,
    Status,
    hashed_name,
    host_pattern,
)
from termkeep.transport.link import Cause, ConnectFailedError
from termkeep.transport.prompts import HostKeyDecision, Prompter

__all__ = [
    "DEFAULT_SSH_PORT",
    "HostKeyCheck",
    "HostKeyPolicy",
    "HostKeySettings",
    "StrictHostKeyChecking",
    "fingerprint",
    "host_pattern",
    "known_hosts_line",
]

DEFAULT_USER_KNOWN_HOSTS = ("~/.ssh/known_hosts", "~/.ssh/known_hosts2")
DEFAULT_GLOBAL_KNOWN_HOSTS = ("/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2")

UNRECORDABLE_HOST_CHARS = frozenset("@?*#[]|'\"\\")
"""Characters OpenSSH never writes into a known_hosts host field (it then refuses an
unknown key instead of recording it)."""

OPENSSH_HOST_KEY_ALGS = (
    "ssh-ed25519-cert-v01@openssh.com",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com",
    "sk-ssh-ed25519-cert-v01@openssh.com",
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "rsa-sha2-512-cert-v01@openssh.com",
    "rsa-sha2-256-cert-v01@openssh.com",
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "rsa-sha2-512",
    "rsa-sha2-256",
)
"""OpenSSH's default HostKeyAlgorithms, in its order: the server picks the first it has, so
the same order makes termkeep see the same key type ssh sees (asyncssh's own order starts
with RSA)."""

CERT_SUFFIX = "-cert-v01@openssh.com"
KRL_MAGIC = b"SSHKRL\n\0"


class StrictHostKeyChecking(StrEnum):
    """OpenSSH's StrictHostKeyChecking: what to do with a key that is not known."""

    ASK = "ask"
    YES = "yes"
    ACCEPT_NEW = "accept-new"
    NO = "no"

    @classmethod
    def parse(cls, text: str) -> StrictHostKeyChecking:
        """The value as ssh_config writes it (ssh also takes true/false/off); ValueError
        with a one-line reason otherwise."""
        words = {"true": cls.YES, "false": cls.NO, "off": cls.NO}
        lowered = text.strip().lower()
        if lowered in words:
            return words[lowered]
        try:
            return cls(lowered)
        except ValueError:
            raise ValueError(
                f"StrictHostKeyChecking {text!r} is not ask, yes, accept-new or no"
            ) from None


@dataclass(frozen=True, slots=True)
class HostKeySettings:
    """One host's host key options, after profile and ssh_config are applied."""

    user_files: tuple[Path, ...] = field(
        default_factory=lambda: tuple(Path(name).expanduser() for name in DEFAULT_USER_KNOWN_HOSTS)
    )
    """Read in order; an accepted key is saved to the first (the profile's own file, when
    it has one). Empty: nothing can be saved, so an unknown key is refused, as in ssh."""
    global_files: tuple[Path, ...] = tuple(Path(name) for name in DEFAULT_GLOBAL_KNOWN_HOSTS)
    strict: StrictHostKeyChecking = StrictHostKeyChecking.ASK
    alias: str | None = None
    check_host_ip: bool = False
    revoked_files: tuple[Path, ...] = ()
    """RevokedHostKeys: files of public keys refused for every host."""
    hash_saved_hosts: bool = True
    """Save names hashed, like Debian's ``HashKnownHosts yes``."""

    @property
    def files(self) -> tuple[Path, ...]:
        """Every file consulted, user files first."""
        return self.user_files + self.global_files

    @property
    def save_file(self) -> Path | None:
        """Where an accepted key is appended."""
        return self.user_files[0] if self.user_files else None

    def lookup_name(self, host: str, port: int) -> str:
        """The name the host key is looked up and saved under."""
        return self.alias or host_pattern(host.lower(), port)


def fingerprint(key: asyncssh.SSHKey) -> str:
    """The key's ``SHA256:…`` fingerprint, exactly as OpenSSH prints it."""
    return key.get_fingerprint("sha256")


def known_hosts_line(name: str, key: asyncssh.SSHKey, *, hashed: bool) -> str:
    """One known_hosts line for ``key`` under ``name`` (``host``, ``[host]:port`` or an
    alias; without newline), hashed like OpenSSH's ``HashKnownHosts yes`` or plain."""
    written = hashed_name(name, secrets.token_bytes(SHA1_LENGTH)) if hashed else name.lower()
    return f"{written} {key.get_algorithm()} {base64.b64encode(key.public_data).decode()}"


class Outcome(Enum):
    """What ``HostKeyCheck.validate`` decided, for ``HostKeyPolicy.resolve``."""

    TRUSTED = "trusted"
    UNKNOWN = "unknown"
    CHANGED = "changed"
    REVOKED = "revoked"
    ADDRESS_MISMATCH = "address mismatch"


@dataclass
class HostKeyCheck:
    """The host key lookup for one connection attempt to one host.

    ``known_hosts`` is what asyncssh gets as its ``known_hosts=`` argument (no trusted plain
    keys, so every plain key reaches ``validate``); ``validate`` is called from the SSH
    client's ``validate_host_public_key`` and judges the key.
    """

    host: str
    port: int
    settings: HostKeySettings
    files: KnownHostsFiles
    entries: HostEntries
    accepted: list[asyncssh.SSHKey]
    """Keys accepted once for this name earlier in this run (not saved)."""
    address: str = ""
    """The peer's address, when the connection is a plain TCP one of ours."""
    presented: asyncssh.SSHKey | None = None
    outcome: Outcome | None = None
    offending: KnownEntry | None = None
    warnings: list[str] = field(default_factory=list)
    """Said to the user once the connection is up (CheckHostIP with ``no``)."""

    @property
    def name(self) -> str:
        """The name the key is looked up under (``[host]:port``, ``host`` or the alias)."""
        return self.entries.name

    @property
    def known_keys(self) -> list[KnownEntry]:
        """Plain keys listed for the name, then keys accepted once this run."""
        return self.entries.keys + [KnownEntry(None, 0, key) for key in self.accepted]

    @property
    def known_hosts(self) -> tuple[list[asyncssh.SSHKey], ...]:
        """asyncssh's pre-matched form: trusted host keys (none: ``validate`` judges each
        one), trusted CA keys, revoked keys (asyncssh checks certificates against both)."""
        return (
            [],
            [entry.key for entry in self.entries.cas],
            [entry.key for entry in self.entries.revoked],
        )

    @property
    def host_key_algs(self) -> list[str]:
        """OpenSSH's default order, with the algorithms of keys already known for the name
        first unless its first choice is known (ssh's ``order_hostkeyalgs``), so the server
        shows the key type ssh would see. Certificate algorithms only with a matching
        ``@cert-authority`` line: asyncssh cannot fall back from an untrusted certificate to
        its plain key as ssh does."""
        supported = {alg.decode() for alg in asyncssh.public_key.get_public_key_algs()}
        supported |= {alg.decode() for alg in asyncssh.public_key.get_certificate_algs()}
        has_ca = bool(self.entries.cas)
        algs = [
            alg
            for alg in OPENSSH_HOST_KEY_ALGS
            if alg in supported and (has_ca or not alg.endswith(CERT_SUFFIX))
        ]
        known = {alg.decode() for entry in self.known_keys for alg in entry.key.sig_algorithms}
        best = OPENSSH_HOST_KEY_ALGS[0].removesuffix(CERT_SUFFIX)
        if best in known:
            return algs

        def preferred(alg: str) -> bool:
            is_cert = alg.endswith(CERT_SUFFIX)
            return (is_cert and has_ca) or (not is_cert and alg in known)

        return [alg for alg in algs if preferred(alg)] + [alg for alg in algs if not preferred(alg)]

    def validate(self, key: asyncssh.SSHKey) -> bool:
        """Judge the server's plain key; True only when it is trusted."""
        self.presented = key
        self.outcome, self.offending = self._judge(key)
        if self.outcome is Outcome.TRUSTED or self.outcome is Outcome.UNKNOWN:
            self._check_address(key)
        return self.outcome is Outcome.TRUSTED

    def _judge(self, key: asyncssh.SSHKey) -> tuple[Outcome, KnownEntry | None]:
        entries = HostEntries(self.name, self.known_keys, self.entries.cas, self.entries.revoked)
        status, found = entries.judge(key)
        if status is Status.NEW and self._port_less_fallback():
            bare_status, bare_found = self.files.lookup(self.host.lower()).judge(key)
            if bare_status is Status.OK:
                return Outcome.TRUSTED, bare_found
            if bare_status is Status.REVOKED:
                # ssh would still ask (or, with "no", connect); a revoked key is refused.
                return Outcome.REVOKED, None
        return _OUTCOMES[status], found

    def _port_less_fallback(self) -> bool:
        return self.settings.alias is None and self.port != DEFAULT_SSH_PORT

    def _check_address(self, key: asyncssh.SSHKey) -> None:
        """CheckHostIP: the key listed for the address differs. ssh asks (``ask``), refuses
        (``yes``, ``accept-new``) or only warns (``no``); termkeep refuses where ssh asks."""
        address_name = self._address_name()
        if address_name is None:
            return
        status, found = self.files.lookup(address_name).judge(key)
        if status is not Status.CHANGED or found is None:
            return
        warning = (
            f"Warning: the {key.get_algorithm()} host key for {self.name!r} differs from the "
            f"key for the IP address {address_name!r} (offending key in {found.path}:"
            f"{found.line})"
        )
        self.warnings.append(warning)
        if self.settings.strict is not StrictHostKeyChecking.NO:
            self.outcome, self.offending = Outcome.ADDRESS_MISMATCH, found

    def _address_name(self) -> str | None:
        """The address's known_hosts name, when ssh would check it: CheckHostIP on, a direct
        connection, not to a loopback address, and a host name that is not the address."""
        if not self.settings.check_host_ip or not self.address or self.host == self.address:
            return None
        try:
            if ipaddress.ip_address(self.address).is_loopback:
                return None
        except ValueError:
            return None
        return host_pattern(self.address, self.port)


_OUTCOMES = {
    Status.OK: Outcome.TRUSTED,
    Status.NEW: Outcome.UNKNOWN,
    Status.CHANGED: Outcome.CHANGED,
    Status.REVOKED: Outcome.REVOKED,
}


@dataclass
class HostKeyPolicy:
    """Trust decisions shared by every connection of one session (reconnects included):
    keys accepted once, and names whose key changed (never contacted again this run)."""

    prompter: Prompter
    _accepted: dict[str, list[asyncssh.SSHKey]] = field(default_factory=dict)
    _changed: set[str] = field(default_factory=set)

    def refuse_if_changed(self, name: str) -> None:
        """Raise before any packet is sent to a host whose key changed earlier in this run:
        it is never retried, not even a TCP connect."""
        if name in self._changed:
            raise ConnectFailedError(
                Cause.HOST_KEY_CHANGED, f"the host key of {name} changed; fix known_hosts first"
            )

    def check(
        self, settings: HostKeySettings, host: str, port: int, address: str = ""
    ) -> HostKeyCheck:
        """Read the known_hosts files for ``host`` before the SSH handshake (``address`` is
        the peer's, empty when connecting through a proxy or a jump host)."""
        name = settings.lookup_name(host, port)
        self.refuse_if_changed(name)
        files = KnownHostsFiles.read(settings.files)
        entries = files.lookup(name)
        entries.revoked.extend(revoked_keys(settings.revoked_files))
        accepted = self._accepted.setdefault(name, [])
        return HostKeyCheck(host, port, settings, files, entries, accepted, address)

    async def report(self, check: HostKeyCheck) -> None:
        """Say the warnings of a check that let the connection through."""
        for warning in check.warnings:
            await self.prompter.notice(warning)
        check.warnings.clear()

    async def resolve(self, check: HostKeyCheck, reason: str = "") -> None:
        """Called after asyncssh refused the server's key (``reason`` is asyncssh's words).
        Returns when the key is now trusted (retry once); raises ``ConnectFailedError``
        when it is not."""
        key = check.presented
        if key is None or check.outcome is None:
            # asyncssh refused a certificate (revoked, untrusted CA, wrong principal).
            raise ConnectFailedError(
                Cause.HOST_KEY_CHANGED if "revoked" in reason.lower() else Cause.HOST_KEY_UNKNOWN,
                f"the host certificate of {check.name} was refused: {reason or 'not valid'}",
            )
        match check.outcome:
            case Outcome.CHANGED:
                await self._refuse_changed(check, key)
            case Outcome.REVOKED:
                await self._refuse_revoked(check, key)
            case Outcome.ADDRESS_MISMATCH:
                await self.prompter.changed_host_key("\n".join(check.warnings))
                raise ConnectFailedError(
                    Cause.HOST_KEY_CHANGED,
                    f"the host key of {check.name} differs from the one known for its "
                    "address (CheckHostIP); refusing to connect",
                )
            case Outcome.UNKNOWN:
                await self._unknown(check, key)
            case Outcome.TRUSTED:
                return

    async def _unknown(self, check: HostKeyCheck, key: asyncssh.SSHKey) -> None:
        settings = check.settings
        described = f"{key.get_algorithm()} key {fingerprint(key)} of {check.name}"
        if settings.save_file is None or UNRECORDABLE_HOST_CHARS & set(check.host):
            raise ConnectFailedError(
                Cause.HOST_KEY_UNKNOWN,
                f"the {described} is not known and cannot be recorded "
                "(no UserKnownHostsFile, or a host name known_hosts cannot hold)",
            )
        if settings.strict is StrictHostKeyChecking.YES:
            raise ConnectFailedError(
                Cause.HOST_KEY_UNKNOWN,
                f"the {described} is not known and StrictHostKeyChecking is yes: add it to "
                f"{settings.save_file} first",
            )
        if settings.strict is StrictHostKeyChecking.ASK:
            await self._ask(check, key)
            return
        self.save(settings, check.name, key)
        check.accepted.append(key)
        await self.prompter.notice(
            f"Permanently added {check.name!r} ({key.get_algorithm()}) to {settings.save_file}"
        )

    async def _ask(self, check: HostKeyCheck, key: asyncssh.SSHKey) -> None:
        if check.settings.alias is not None:
            host, port = check.name, DEFAULT_SSH_PORT  # shown as the alias alone
        else:
            host, port = check.host, check.port
        decision = await self.prompter.unknown_host_key(
            host, port, key.get_algorithm(), fingerprint(key)
        )
        if decision is HostKeyDecision.REJECT:
            raise ConnectFailedError(
                Cause.HOST_KEY_UNKNOWN,
                f"the host key of {check.name} ({fingerprint(key)}) is not trusted",
            )
        check.accepted.append(key)
        if decision is HostKeyDecision.ACCEPT_AND_SAVE:
            self.save(check.settings, check.name, key)

    async def _refuse_changed(self, check: HostKeyCheck, key: asyncssh.SSHKey) -> None:
        self._changed.add(check.name)
        await self.prompter.changed_host_key(changed_key_warning(check, key))
        raise ConnectFailedError(
            Cause.HOST_KEY_CHANGED,
            f"the host key of {check.name} changed (now {fingerprint(key)}); refusing to connect",
        )

    async def _refuse_revoked(self, check: HostKeyCheck, key: asyncssh.SSHKey) -> None:
        await self.prompter.changed_host_key(revoked_key_warning(check, key))
        raise ConnectFailedError(
            Cause.HOST_KEY_CHANGED,
            f"the host key of {check.name} ({fingerprint(key)}) is revoked; refusing to connect",
        )

    @staticmethod
    def save(settings: HostKeySettings, name: str, key: asyncssh.SSHKey) -> None:
        """Append ``key`` for ``name`` to the save file (created 0600, its directory 0700)."""
        path = settings.save_file
        if path is None:
            return
        ensure_private_dir(path.parent)  # ~/.ssh and any parent it makes: 0700, as ssh does
        line = known_hosts_line(name, key, hashed=settings.hash_saved_hosts) + "\n"
        if _lacks_final_newline(path):
            line = "\n" + line
        # O_APPEND, never a rewrite: the user's file (and its comments) stays as it was.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as out:
            out.write(line)


def revoked_keys(paths: Sequence[Path]) -> list[KnownEntry]:
    """The keys of RevokedHostKeys files (one public key a line). Like ssh, a file that
    cannot be read refuses the connection; a binary KRL, which termkeep cannot read, too."""
    revoked: list[KnownEntry] = []
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as error:
            raise ConnectFailedError(
                Cause.HOST_KEY_UNKNOWN,
                f"cannot read RevokedHostKeys file {path} ({error.strerror}): fix or remove it",
            ) from None
        if data.startswith(KRL_MAGIC):
            raise ConnectFailedError(
                Cause.CONFIG,
                f"RevokedHostKeys {path} is a KRL, which termkeep cannot read: list the "
                "revoked public keys one a line instead",
            )
        for number, text in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
            if not text.strip() or text.lstrip().startswith("#"):
                continue
            try:
                key = asyncssh.import_public_key(text.strip())
            except (asyncssh.KeyImportError, ValueError):
                continue
            revoked.append(KnownEntry(path, number, key, Marker.REVOKED))
    return revoked


def _lacks_final_newline(path: Path) -> bool:
    try:
        with path.open("rb") as existing:
            existing.seek(0, os.SEEK_END)
            if existing.tell() == 0:
                return False
            existing.seek(-1, os.SEEK_END)
            return existing.read(1) != b"\n"
    except (FileNotFoundError, OSError):
        return False


def changed_key_warning(check: HostKeyCheck, key: asyncssh.SSHKey) -> str:
    """The warning shown when a known host presents a different key, modelled on OpenSSH's
    (same headline, so people recognise it), with termkeep's way out."""
    lines = [
        "@" * 59,
        "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @",
        "@" * 59,
        "IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!",
        "Someone could be eavesdropping on you right now (man-in-the-middle attack)!",
        "It is also possible that a host key has just been changed.",
        f"The fingerprint for the {key.get_algorithm()} key sent by {check.name} is",
        f"{fingerprint(key)}.",
    ]
    offending = check.known_keys  # every key listed for the name: each must go
    lines.extend(_where_known(offending))
    for path in sorted({entry.path for entry in offending if entry.path is not None}):
        lines.append(
            f"If the change is expected, remove the old key with: "
            f"ssh-keygen -R {shlex.quote(check.name)} -f {shlex.quote(str(path))}"
        )
    lines.append(
        f"termkeep will not connect to {check.name} until the old key is removed "
        "(whatever StrictHostKeyChecking says)."
    )
    return "\n".join(lines)


def revoked_key_warning(check: HostKeyCheck, key: asyncssh.SSHKey) -> str:
    """OpenSSH's revoked-key warning, in the same words."""
    return "\n".join(
        [
            "@" * 59,
            "@       WARNING: REVOKED HOST KEY DETECTED!               @",
            "@" * 59,
            f"The {key.get_algorithm()} host key for {check.name} is marked as revoked.",
            "This could mean that a stolen key is being used to impersonate this host.",
            f"termkeep will not connect to {check.name} with this key.",
        ]
    )


def _where_known(entries: Sequence[KnownEntry]) -> list[str]:
    return [
        f"Offending {entry.key.get_algorithm()} key in {entry.path}:{entry.line} "
        f"({fingerprint(entry.key)})"
        if entry.path is not None
        else f"The old {entry.key.get_algorithm()} key was accepted earlier in this session "
        "(it was not saved)."
        for entry in entries
    ]
