"""Port forwards (tunnels) of a profile: what ``ssh -L``, ``-R`` and ``-D`` describe.

A Forward is plain data. This module reads it from the three notations users already have:
OpenSSH's flags (``-L [bind:]port:host:hostport``, also ssh_config's LocalForward and friends),
PuTTY's saved-session string (``L8080=db:5432``, ``4D1080``) and the profile file's
``[[forwards]]`` tables; it writes it back as ssh flags. Every reader raises ForwardError with
a message that names the entry and what is wrong with it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

PORT_MIN = 1
PORT_MAX = 65535
LOOPBACK = "localhost"
"""The listen address when none is given: OpenSSH's ``GatewayPorts no``, IPv4 and IPv6."""


class ForwardError(ValueError):
    """A forward that cannot be understood or cannot work; the message says which and why."""


class ForwardKind(StrEnum):
    """What listens where, and what it carries."""

    LOCAL = "local"
    """``-L``: listen here, connect from the server to a fixed destination."""

    REMOTE = "remote"
    """``-R``: the server listens, connections come back here to a fixed destination."""

    DYNAMIC = "dynamic"
    """``-D``: a SOCKS5 proxy here; each connection names its destination."""

    @property
    def flag(self) -> str:
        """The ssh command-line flag for this kind."""
        return _FLAGS[self]


_FLAGS = {ForwardKind.LOCAL: "-L", ForwardKind.REMOTE: "-R", ForwardKind.DYNAMIC: "-D"}
_KIND_OF_FLAG = {flag: kind for kind, flag in _FLAGS.items()}


@dataclass(frozen=True, slots=True)
class Forward:
    """One tunnel."""

    kind: ForwardKind
    listen_port: int
    """Port the listener binds (here for local/dynamic, on the server for remote)."""

    listen_address: str | None = None
    """Address the listener binds; None means loopback (for remote: the server's default,
    which is loopback unless sshd's GatewayPorts says otherwise)."""

    dest_host: str | None = None
    """Where a local or remote forward's connections go; None for dynamic."""

    dest_port: int | None = None

    @property
    def bind_host(self) -> str:
        """The address actually bound: the loopback name when none was given, and the empty
        string (every interface, as asyncssh and the socket API spell it) for ssh's ``*``."""
        if self.listen_address == "*":
            return ""
        return self.listen_address or LOOPBACK

    @property
    def listen_key(self) -> tuple[str, str, int]:
        """What two forwards must not share: the side that listens, the address, the port."""
        side = "server" if self.kind is ForwardKind.REMOTE else "local"
        return side, (self.listen_address or LOOPBACK).lower(), self.listen_port

    @property
    def listen_on(self) -> str:
        """The listen address and port as ssh writes them, e.g. ``localhost:8080``."""
        return f"{bracketed(self.listen_address or LOOPBACK)}:{self.listen_port}"

    @property
    def spec(self) -> str:
        """The flag's argument in ssh syntax, e.g. ``127.0.0.1:8080:db:5432``."""
        parts = [bracketed(self.listen_address)] if self.listen_address is not None else []
        parts.append(str(self.listen_port))
        if self.kind is not ForwardKind.DYNAMIC:
            parts += [bracketed(self.dest_host or ""), str(self.dest_port)]
        return ":".join(parts)

    @property
    def flag(self) -> str:
        """The whole ssh option, e.g. ``-L 8080:db:5432``."""
        return f"{self.kind.flag} {self.spec}"

    @property
    def destination(self) -> str:
        """``host:port`` a local or remote forward carries to, or ``SOCKS5`` for dynamic."""
        if self.kind is ForwardKind.DYNAMIC:
            return "SOCKS5"
        return f"{bracketed(self.dest_host or '')}:{self.dest_port}"

    def as_table(self) -> dict[str, object]:
        """The profile file's ``[[forwards]]`` table for this forward (unset keys left out)."""
        table: dict[str, object] = {"kind": self.kind.value}
        if self.listen_address is not None:
            table["listen_address"] = self.listen_address
        table["listen_port"] = self.listen_port
        if self.kind is not ForwardKind.DYNAMIC:
            table["dest_host"] = self.dest_host
            table["dest_port"] = self.dest_port
        return table


def bracketed(host: str) -> str:
    """IPv6 literals in brackets, as ssh writes them, so the colons stay unambiguous."""
    return f"[{host}]" if ":" in host else host


# --- ssh syntax ---------------------------------------------------------------------------

# One field: a bracketed IPv6 literal or anything up to the next separator.
_FIELD = re.compile(r"\[([^\]]*)\]|([^:\[\]]*)")


def _split_fields(spec: str) -> list[str]:
    """Split on ':', keeping ``[v6]`` fields whole; a spec with '/' is split on '/' only,
    ssh's alternative separator that lets IPv6 addresses go without brackets."""
    if "/" in spec:
        return spec.split("/")
    fields: list[str] = []
    position = 0
    while True:
        match = _FIELD.match(spec, position)
        if match is None:  # pragma: no cover - the pattern always matches (maybe empty)
            raise ForwardError(f"cannot read {spec!r}")
        fields.append(match.group(1) if match.group(1) is not None else match.group(2))
        position = match.end()
        if position == len(spec):
            return fields
        if spec[position] != ":":
            raise ForwardError(f"{spec!r}: unexpected {spec[position]!r} at position {position}")
        position += 1


def _port(text: str, what: str, spec: str) -> int:
    if not text.isdigit():
        raise ForwardError(f"{spec!r}: {what} {text!r} is not a port number")
    port = int(text)
    if not PORT_MIN <= port <= PORT_MAX:
        raise ForwardError(f"{spec!r}: {what} {port} is out of range ({PORT_MIN}-{PORT_MAX})")
    return port


def _address(text: str) -> str | None:
    """ssh's bind address: empty or ``*`` means every interface, written as ``*``."""
    return "*" if text in {"", "*"} else text


def parse_ssh_forward(kind: ForwardKind, spec: str) -> Forward:
    """Read ``spec`` as the argument of ssh's flag for ``kind``.

    ``-L``/``-R``: ``[bind_address:]port:host:hostport``; ``-D``: ``[bind_address:]port``.
    Unix-socket forwards and ``-R`` with no destination (a remote SOCKS proxy) are refused
    by name, since termkeep does not carry them.
    """
    spec = spec.strip()
    if not spec:
        raise ForwardError(f"{kind.flag} needs an argument")
    fields = _split_fields(spec)
    if kind is ForwardKind.DYNAMIC:
        if len(fields) > 2:
            raise ForwardError(f"{spec!r}: {kind.flag} takes [bind_address:]port")
        bind = _address(fields[0]) if len(fields) == 2 else None
        return Forward(kind, _port(fields[-1], "port", spec), bind)
    if len(fields) < 3:
        if kind is ForwardKind.REMOTE and len(fields) <= 2:
            raise ForwardError(
                f"{spec!r}: a remote SOCKS proxy (-R without host:hostport) is not supported"
            )
        raise ForwardError(f"{spec!r}: {kind.flag} takes [bind_address:]port:host:hostport")
    if len(fields) > 4:
        raise ForwardError(f"{spec!r}: too many ':' fields; write IPv6 addresses in brackets")
    bind = _address(fields[0]) if len(fields) == 4 else None
    port_text, host, host_port = fields[-3:]
    if not host:
        raise ForwardError(f"{spec!r}: the destination host is empty")
    return Forward(
        kind, _port(port_text, "port", spec), bind, host, _port(host_port, "destination port", spec)
    )


def parse_flag(flag: str, spec: str) -> Forward:
    """``parse_ssh_forward`` by flag name: ``-L``, ``-R`` or ``-D``."""
    if flag not in _KIND_OF_FLAG:
        raise ForwardError(f"unknown forward flag {flag!r}; use -L, -R or -D")
    return parse_ssh_forward(_KIND_OF_FLAG[flag], spec)


# --- PuTTY --------------------------------------------------------------------------------

_PUTTY_ENTRY = re.compile(r"^(?P<family>[46]?)(?P<kind>[LRD])(?P<source>[^=]*)(?:=(?P<dest>.*))?$")
_PUTTY_KINDS = {"L": ForwardKind.LOCAL, "R": ForwardKind.REMOTE, "D": ForwardKind.DYNAMIC}
# PuTTY's "4"/"6" prefix limits the listener to one address family; without an explicit
# source address that is the family's loopback address.
_FAMILY_LOOPBACK = {"4": "127.0.0.1", "6": "::1"}


def parse_putty_forward(entry: str) -> Forward:
    """Read one entry of PuTTY's PortForwardings value, e.g. ``L8080=db:5432``, ``4D1080``,
    ``R127.0.0.1:9000=localhost:22``."""
    match = _PUTTY_ENTRY.match(entry.strip())
    if match is None:
        raise ForwardError(f"PuTTY forward {entry!r}: expected e.g. L8080=host:80 or D1080")
    kind = _PUTTY_KINDS[match["kind"]]
    source = _split_fields(match["source"])
    if len(source) > 2 or not source[-1]:
        raise ForwardError(f"PuTTY forward {entry!r}: the source must be [address:]port")
    address = source[0] if len(source) == 2 else _FAMILY_LOOPBACK.get(match["family"])
    port = _port(source[-1], "port", entry)
    dest = match["dest"]
    if kind is ForwardKind.DYNAMIC:
        if dest:
            raise ForwardError(f"PuTTY forward {entry!r}: a dynamic forward has no destination")
        return Forward(ForwardKind.DYNAMIC, port, address)
    target = _split_fields(dest or "")
    if len(target) != 2 or not target[0]:
        raise ForwardError(f"PuTTY forward {entry!r}: the destination must be host:port")
    return Forward(kind, port, address, target[0], _port(target[1], "destination port", entry))


# --- profile file tables ------------------------------------------------------------------

_TABLE_KEYS = ("kind", "listen_address", "listen_port", "dest_host", "dest_port")


def forward_from_table(table: Mapping[str, object]) -> Forward:
    """Build a Forward from one ``[[forwards]]`` table of a profile file."""
    unknown = sorted(set(table) - set(_TABLE_KEYS))
    if unknown:
        raise ForwardError(f"unknown key {unknown[0]!r}; valid keys: {', '.join(_TABLE_KEYS)}")
    kind_text = table.get("kind")
    if kind_text not in {kind.value for kind in ForwardKind}:
        raise ForwardError('"kind" must be "local", "remote" or "dynamic"')
    kind = ForwardKind(str(kind_text))
    listen_address = _optional_text(table, "listen_address")
    port = _table_port(table, "listen_port")
    if kind is ForwardKind.DYNAMIC:
        if "dest_host" in table or "dest_port" in table:
            raise ForwardError("a dynamic (SOCKS) forward has no dest_host or dest_port")
        return Forward(kind, port, listen_address)
    dest_host = _optional_text(table, "dest_host")
    if dest_host is None:
        raise ForwardError(f'a {kind.value} forward needs "dest_host"')
    return Forward(kind, port, listen_address, dest_host, _table_port(table, "dest_port"))


def _optional_text(table: Mapping[str, object], key: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or any(ch.isspace() for ch in value):
        raise ForwardError(f'"{key}" must be a host name or address without spaces')
    return value


def _table_port(table: Mapping[str, object], key: str) -> int:
    value = table.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ForwardError(f'"{key}" must be a port number ({PORT_MIN}-{PORT_MAX})')
    if not PORT_MIN <= value <= PORT_MAX:
        raise ForwardError(f'"{key}" {value} is out of range ({PORT_MIN}-{PORT_MAX})')
    return value


def gather_forwards(
    entries: Iterable[tuple[str, Callable[[], Forward]]], notes: list[str]
) -> tuple[Forward, ...]:
    """The forwards an importer can read, in order: each entry is (what to call it in a
    note, how to read it). One that cannot be read, or listens where an earlier one does,
    is left out with a note, so one bad tunnel does not lose the host."""
    forwards: list[Forward] = []
    for what, read in entries:
        try:
            forward = read()
            check_distinct([*forwards, forward])
        except ForwardError as error:
            notes.append(f"{what} left out: {error}")
            continue
        forwards.append(forward)
    return tuple(forwards)


def check_distinct(forwards: Iterable[Forward]) -> None:
    """Raise ForwardError if two forwards would listen on the same address and port."""
    seen: dict[tuple[str, str, int], Forward] = {}
    for forward in forwards:
        earlier = seen.setdefault(forward.listen_key, forward)
        if earlier is not forward:
            raise ForwardError(
                f"{earlier.flag} and {forward.flag} both listen on {forward.listen_on}; "
                "give one of them another port"
            )
