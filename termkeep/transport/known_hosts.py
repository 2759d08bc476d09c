"""known_hosts files, read and matched the way OpenSSH reads them.

A line is ``[@cert-authority|@revoked] HOSTS KEYTYPE BASE64 [COMMENT]``. HOSTS is either one
hashed name (``|1|salt|hmac``, OpenSSH's HashKnownHosts) or a comma-separated list of
patterns (``*`` and ``?`` wildcards, ``!`` negates: a matching negated pattern makes the whole
line not match), compared without regard to case. A host is looked up by one *name*: the
host name for port 22, ``[host]:port`` for any other port, or the HostKeyAlias. A line
matches only that exact name; there is no matching on the address, and no falling back to a
port-less name here (``HostKeyPolicy`` decides when that fallback applies, as ssh does).

Lines that cannot be parsed (an unknown marker, a key asyncssh cannot read) are skipped, as
OpenSSH skips them; keys are decoded only for lines whose host field matched.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

import asyncssh

from termkeep.config.files import ConfigFileError, read_config_bytes
from termkeep.transport.link import Cause, ConnectFailedError

HASHED_PREFIX = "|1|"
SHA1_LENGTH = 20
"""Length of the salt and of the HMAC-SHA1 in a hashed name."""

DEFAULT_SSH_PORT = 22

DEV_NULL = Path("/dev/null")

MAX_KNOWN_HOSTS_BYTES = 64 * 1024 * 1024
"""Far above any real known_hosts (a line is under 1 KB), far below what would hurt to read."""


class Marker(Enum):
    """What a known_hosts line says about its key."""

    KEY = "key"
    """A trusted host key (no marker)."""

    CA = "@cert-authority"
    """A CA whose host certificates are trusted for the matching hosts."""

    REVOKED = "@revoked"
    """A key that must never be accepted for the matching hosts."""


_MARKERS = {marker.value: marker for marker in Marker if marker is not Marker.KEY}


class Status(Enum):
    """OpenSSH's verdict on one key against the lines of one name (``HostStatus``)."""

    OK = "known and matches"
    NEW = "not known"
    CHANGED = "known with another key"
    REVOKED = "revoked"


def host_pattern(host: str, port: int) -> str:
    """How known_hosts names a host: ``host`` on port 22, else ``[host]:port``."""
    return host if port == DEFAULT_SSH_PORT else f"[{host}]:{port}"


@dataclass(frozen=True, slots=True)
class KnownEntry:
    """One key written down for a host: where, and what kind of line."""

    path: Path | None
    """The file, or None for a key accepted earlier in this run and not saved."""
    line: int
    key: asyncssh.SSHKey
    marker: Marker = Marker.KEY


@dataclass(frozen=True, slots=True)
class _Line:
    """A known_hosts line taken apart, its key not decoded yet."""

    path: Path
    number: int
    marker: Marker
    hosts: str
    key_text: str

    def decode_key(self) -> asyncssh.SSHKey | None:
        try:
            return asyncssh.import_public_key(self.key_text)
        except (asyncssh.KeyImportError, ValueError):
            return None


@dataclass
class HostEntries:
    """Every line of the files that matches one name, by kind, in file order."""

    name: str
    keys: list[KnownEntry] = field(default_factory=list)
    cas: list[KnownEntry] = field(default_factory=list)
    revoked: list[KnownEntry] = field(default_factory=list)

    def add(self, entry: KnownEntry) -> None:
        {Marker.KEY: self.keys, Marker.CA: self.cas, Marker.REVOKED: self.revoked}[
            entry.marker
        ].append(entry)

    def judge(self, key: asyncssh.SSHKey) -> tuple[Status, KnownEntry | None]:
        """OpenSSH's check of a plain (non-certificate) key: OK at the first equal key; else
        CHANGED if any key is listed (of any type: ssh prefers the types it knows, so a key
        of another type means the server lost the known one); NEW if none is. A revoked
        listing overrides all of it. Returns the matching or offending entry."""
        status, found = Status.NEW, None
        for entry in self.keys:
            if same_key(entry.key, key):
                status, found = Status.OK, entry
                break
            status, found = Status.CHANGED, entry
        if any(same_key(entry.key, key) for entry in self.revoked):
            return Status.REVOKED, None
        return status, found


def same_key(first: asyncssh.SSHKey, second: asyncssh.SSHKey) -> bool:
    """Whether two public keys are the same key (type and key material)."""
    return bool(first.public_data == second.public_data)


def glob_matches(text: str, pattern: str) -> bool:
    """OpenSSH's ``match_pattern``: ``*`` any run, ``?`` any one character, the rest
    literal (``[`` included, so ``[host]:port`` is plain text). Linear backtracking to the
    last ``*``: no pattern makes this slow."""
    t = p = 0
    star_p, star_t = -1, 0
    while t < len(text):
        if p < len(pattern) and pattern[p] == "*":
            star_p, star_t = p, t
            p += 1
        elif p < len(pattern) and pattern[p] in ("?", text[t]):
            t += 1
            p += 1
        elif star_p >= 0:
            star_t += 1
            t, p = star_t, star_p + 1
        else:
            return False
    return all(ch == "*" for ch in pattern[p:])


def pattern_list_matches(name: str, patterns: str) -> bool:
    """OpenSSH's ``match_hostname``: true when a pattern of the comma-separated list
    matches and no negated one does; case does not matter."""
    name = name.lower()
    positive = False
    for raw in patterns.lower().split(","):
        negated = raw.startswith("!")
        if glob_matches(name, raw[1:] if negated else raw):
            if negated:
                return False
            positive = True
    return positive


def hashed_name_matches(name: str, hashed: str) -> bool:
    """Whether ``|1|salt|hmac`` is the hash of ``name`` (a malformed hash matches nothing,
    as in OpenSSH, which skips the line)."""
    parts = hashed[len(HASHED_PREFIX) :].split("|")
    if len(parts) != 2:
        return False
    try:
        salt = base64.b64decode(parts[0], validate=True)
        digest = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        return False
    if len(salt) != SHA1_LENGTH:
        return False
    expected = hmac.new(salt, name.lower().encode(), hashlib.sha1).digest()
    return hmac.compare_digest(expected, digest)


def host_field_matches(name: str, hosts: str) -> bool:
    """Whether a line's host field names ``name``."""
    if hosts.startswith("|"):
        return hosts.startswith(HASHED_PREFIX) and hashed_name_matches(name, hosts)
    return pattern_list_matches(name, hosts)


def hashed_name(name: str, salt: bytes) -> str:
    """``name`` hashed as OpenSSH's HashKnownHosts writes it (lowercased first)."""
    digest = hmac.new(salt, name.lower().encode(), hashlib.sha1).digest()
    return f"{HASHED_PREFIX}{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


def _split_line(path: Path, number: int, text: str) -> _Line | None:
    words = text.split(None, 1)
    if not words or words[0].startswith("#"):
        return None
    marker = Marker.KEY
    if words[0].startswith("@"):
        if words[0] not in _MARKERS or len(words) < 2:
            return None
        marker = _MARKERS[words[0]]
        words = words[1].split(None, 1)
    if len(words) < 2:
        return None
    return _Line(path, number, marker, words[0], words[1].strip())


def read_lines(path: Path) -> list[_Line]:
    """The non-comment lines of one known_hosts file. A missing file is empty; a file that
    exists but cannot be read refuses the connection (connecting without it could trust a
    key it lists as revoked or changed)."""
    if path == DEV_NULL:
        return []  # "UserKnownHostsFile /dev/null", the usual way to say "remember nothing"
    try:
        # Any other FIFO or device named as a known_hosts file must not hang every connect.
        data = read_config_bytes(path, MAX_KNOWN_HOSTS_BYTES)
    except FileNotFoundError:
        return []
    except ConfigFileError as error:
        raise ConnectFailedError(
            Cause.HOST_KEY_UNKNOWN, f"known_hosts file {path} {error.reason}"
        ) from None
    except OSError as error:
        raise ConnectFailedError(
            Cause.HOST_KEY_UNKNOWN,
            f"cannot read known_hosts file {path} ({error.strerror}): fix or remove it",
        ) from None
    lines = data.decode("utf-8", errors="replace").splitlines()
    return [
        split
        for number, text in enumerate(lines, start=1)
        if (split := _split_line(path, number, text)) is not None
    ]


@dataclass
class KnownHostsFiles:
    """The lines of a set of known_hosts files (user files first, then global ones), read
    once per connection attempt, to be looked up by name."""

    lines: list[_Line]

    @classmethod
    def read(cls, paths: Sequence[Path]) -> KnownHostsFiles:
        return cls([line for path in paths for line in read_lines(path)])

    def lookup(self, name: str) -> HostEntries:
        """Every entry whose host field matches ``name`` exactly (no port fallback)."""
        found = HostEntries(name)
        for line in self.lines:
            if not host_field_matches(name, line.hosts):
                continue
            key = line.decode_key()
            if key is not None:
                found.add(KnownEntry(line.path, line.number, key, line.marker))
        return found
