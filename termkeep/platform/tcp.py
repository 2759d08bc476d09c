"""The TCP socket under an SSH connection, with the profile's kernel options.

asyncssh's ``tcp_keepalive`` only turns SO_KEEPALIVE on; the timings that make the kernel
notice a dead peer in seconds instead of hours (TCP_KEEPIDLE/KEEPINTVL/KEEPCNT) and the bound on
unacknowledged data (TCP_USER_TIMEOUT) have to be set on the socket. termkeep opens the socket
itself, sets them before the handshake, and hands the connected socket to asyncssh.

It also sets the options that bound how long a connection that survived an outage waits
before it tries again (``apply_recovery_options``): without them Linux doubles the
retransmission timeout up to 120 s, so after a 10 s drop the old connection may sit silent
for seconds after the network is back.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import logging
import os
import socket
import struct
import termios
from dataclasses import dataclass
from typing import Protocol

from termkeep.platform.resolve import resolve


class TcpSettings(Protocol):
    """The kernel TCP options to set (``config.profile.TcpSettings`` is one)."""

    @property
    def keepalive(self) -> bool:
        """SO_KEEPALIVE on or off."""

    @property
    def idle(self) -> int:
        """TCP_KEEPIDLE in seconds; 0 leaves the kernel default."""

    @property
    def interval(self) -> int:
        """TCP_KEEPINTVL in seconds; 0 leaves the kernel default."""

    @property
    def count(self) -> int:
        """TCP_KEEPCNT; 0 leaves the kernel default."""

    @property
    def user_timeout(self) -> int:
        """TCP_USER_TIMEOUT in seconds; 0 leaves the kernel default."""

    @property
    def nodelay(self) -> bool:
        """TCP_NODELAY on or off."""


_log = logging.getLogger(__name__)

MS_PER_SECOND = 1000

TCP_RTO_MAX_MS = getattr(socket, "TCP_RTO_MAX_MS", 44)
"""Caps the retransmission timeout of this socket (Linux >= 6.15; Python has no name yet)."""

TCP_THIN_LINEAR_TIMEOUTS = getattr(socket, "TCP_THIN_LINEAR_TIMEOUTS", 16)
"""Keeps the first six retransmission timeouts of a thin stream linear (Linux >= 2.6.34).
Measured at 200 ms RTT it buys nothing on its own (3 s and 10 s drops recover as without
it): the kernel only counts a stream as thin once it has left its initial slow start, i.e.
after a first loss. Kept for long-lived connections that have; the cap does the work."""

RTO_MAX_MS = 1000
"""The smallest cap the kernel accepts: after an outage the old connection retransmits at
least once a second, so it is back within about a second plus one round trip."""

RECOVERY_ENV = "TERMKEEP_TCP_RECOVERY"
"""Benchmark switch: a comma list of ``rto_max``, ``thin`` (default both) or ``none``, so
scripts/bench_reconnect.py can measure what each option buys."""

_RECOVERY_OPTIONS = {
    "rto_max": (TCP_RTO_MAX_MS, RTO_MAX_MS),
    "thin": (TCP_THIN_LINEAR_TIMEOUTS, 1),
}

_REFUSED = frozenset({errno.ENOPROTOOPT, errno.EINVAL, errno.EOPNOTSUPP})
"""What a kernel without an option answers: an unknown option number, or a value outside
what this kernel's version of the option allows."""


def tcp_options(settings: TcpSettings) -> list[tuple[int, int, int]]:
    """``(level, option, value)`` triples for ``setsockopt``; options this platform lacks
    are left out (TCP_USER_TIMEOUT and TCP_KEEPIDLE are Linux names)."""
    options = [
        (socket.SOL_SOCKET, socket.SO_KEEPALIVE, int(settings.keepalive)),
        (socket.IPPROTO_TCP, socket.TCP_NODELAY, int(settings.nodelay)),
    ]
    if settings.keepalive:
        for name, value in (
            ("TCP_KEEPIDLE", settings.idle),
            ("TCP_KEEPINTVL", settings.interval),
            ("TCP_KEEPCNT", settings.count),
        ):
            if hasattr(socket, name) and value > 0:
                options.append((socket.IPPROTO_TCP, getattr(socket, name), value))
    if hasattr(socket, "TCP_USER_TIMEOUT") and settings.user_timeout > 0:
        options.append(
            (socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, settings.user_timeout * MS_PER_SECOND)
        )
    return options


def apply_tcp_options(sock: socket.socket, settings: TcpSettings) -> None:
    """Set the profile's TCP options on a TCP socket."""
    for level, option, value in tcp_options(settings):
        sock.setsockopt(level, option, value)


class _SetsOptions(Protocol):
    def setsockopt(self, level: int, option: int, value: int, /) -> None: ...


@dataclass(frozen=True, slots=True)
class RecoveryOptions:
    """Which retransmission options the kernel took (False: refused or switched off)."""

    rto_max: bool
    thin_linear: bool


def wanted_recovery_options() -> frozenset[str]:
    """The recovery options to set: all of them unless ``TERMKEEP_TCP_RECOVERY`` says."""
    value = os.environ.get(RECOVERY_ENV)
    if value is None:
        return frozenset(_RECOVERY_OPTIONS)
    return frozenset(name.strip() for name in value.split(",")) & _RECOVERY_OPTIONS.keys()


def apply_recovery_options(sock: _SetsOptions) -> RecoveryOptions:
    """Cap the retransmission timeout and keep thin-stream timeouts linear, where the
    running kernel has these options; a kernel that refuses one is simply left as it is."""
    wanted = wanted_recovery_options()
    taken = {name: _try_option(sock, name, *_RECOVERY_OPTIONS[name]) for name in wanted}
    return RecoveryOptions(
        rto_max=taken.get("rto_max", False), thin_linear=taken.get("thin", False)
    )


def _try_option(sock: _SetsOptions, name: str, option: int, value: int) -> bool:
    try:
        sock.setsockopt(socket.IPPROTO_TCP, option, value)
    except OSError as exc:
        if exc.errno not in _REFUSED:
            raise
        _log.debug("kernel refused TCP option %s (%d): %s", name, option, exc)
        return False
    return True


async def open_tcp(host: str, port: int, settings: TcpSettings) -> socket.socket:
    """Resolve ``host`` and connect to the first address that answers, with the options
    set before the SYN. Raises ``socket.gaierror`` or the last address's ``OSError``."""
    loop = asyncio.get_running_loop()
    addresses = await resolve(host, port)
    last_error: OSError | None = None
    for family, sock_type, proto, _canonname, address in addresses:
        sock = socket.socket(family, sock_type, proto)
        try:
            sock.setblocking(False)
            apply_tcp_options(sock, settings)
            # Before the SYN: the cap also bounds SYN retransmissions (1 s apart, not 1, 2, 4 s).
            apply_recovery_options(sock)
            _log.debug("trace: TCP connect fd=%d to %s", sock.fileno(), address)
            await loop.sock_connect(sock, address)
            _log.debug("trace: TCP connected fd=%d port=%d", sock.fileno(), sock.getsockname()[1])
        except OSError as exc:
            sock.close()
            last_error = exc
            continue
        except BaseException:
            sock.close()
            raise
        return sock
    raise last_error or OSError(f"no address found for {host}")


# --------------------------------------------------------------------------------------------
# Where the bytes written to a socket stand: how many the peer's kernel acknowledged.

TCP_INFO_LAST_DATA_SENT = 44
TCP_INFO_RTT = 68
TCP_INFO_RTTVAR = 72
TCP_INFO_BYTES_ACKED = 120
"""Offsets in Linux's ``struct tcp_info`` (linux/tcp.h): ms since data last went out (new
or retransmitted), smoothed RTT and its variance (µs), and tcpi_bytes_acked (RFC 4898's
tcpEStatsAppHCThruOctetsAcked, a u64 since Linux 4.1)."""

_TCP_INFO_SIZE = 256
"""Bytes asked for; the kernel returns as many as its own struct has."""

SIOCOUTQ = getattr(termios, "TIOCOUTQ", None)
"""On a TCP socket: bytes written and not yet acknowledged (Linux's SIOCOUTQ)."""

_CONSISTENT_READ_TRIES = 5

US_PER_SECOND = 1_000_000


@dataclass(frozen=True, slots=True)
class SendProgress:
    """Where the bytes written to a TCP socket stand, read at one moment.

    ``acked`` and ``written`` count in the same units since the connection began (the
    kernel's own count, which may include the SYN): only differences and comparisons
    between readings of one socket mean anything.
    """

    acked: int
    """Bytes the peer's kernel acknowledged: its TCP received them, in order."""
    written: int
    """Bytes handed to the kernel: ``acked`` plus what is still queued (sent or not)."""
    last_send_age: float
    """Seconds since a data segment last went out, new or retransmitted."""
    rtt: float
    rttvar: float
    """The kernel's smoothed round trip and its variance, in seconds."""


def send_progress(sock: socket.socket) -> SendProgress | None:
    """How far the peer acknowledged what was written to ``sock``; None where the kernel
    cannot say (no TCP_INFO with tcpi_bytes_acked, no SIOCOUTQ: not Linux, or Linux < 4.1),
    the socket is closed, or acknowledgements kept arriving during every try."""
    if SIOCOUTQ is None or not hasattr(socket, "TCP_INFO") or sock.fileno() < 0:
        return None
    try:
        for _ in range(_CONSISTENT_READ_TRIES):
            before = _tcp_info(sock)
            if before is None:
                return None
            queued = _unacknowledged(sock)
            after = _tcp_info(sock)
            if after is None:
                return None
            # An acknowledgement between the two reads moves bytes from "queued" to
            # "acked": the sum is only right when none came in between.
            if before[0] == after[0]:
                acked, last_sent_ms, rtt_us, rttvar_us = after
                return SendProgress(
                    acked=acked,
                    written=acked + queued,
                    last_send_age=last_sent_ms / MS_PER_SECOND,
                    rtt=rtt_us / US_PER_SECOND,
                    rttvar=rttvar_us / US_PER_SECOND,
                )
    except OSError as exc:
        _log.debug("TCP_INFO or SIOCOUTQ failed: %s", exc)
    return None


def _tcp_info(sock: socket.socket) -> tuple[int, int, int, int] | None:
    """(bytes acked, ms since data sent, srtt µs, rttvar µs), or None for an old kernel."""
    raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO_SIZE)
    if len(raw) < TCP_INFO_BYTES_ACKED + 8:
        return None
    (acked,) = struct.unpack_from("=Q", raw, TCP_INFO_BYTES_ACKED)
    (last_sent,) = struct.unpack_from("=I", raw, TCP_INFO_LAST_DATA_SENT)
    rtt, rttvar = struct.unpack_from("=II", raw, TCP_INFO_RTT)
    return acked, last_sent, rtt, rttvar


def _unacknowledged(sock: socket.socket) -> int:
    assert SIOCOUTQ is not None
    raw = fcntl.ioctl(sock.fileno(), SIOCOUTQ, struct.pack("i", 0))
    (queued,) = struct.unpack("i", raw)
    return int(queued)


def reset_when_closed(sock: socket.socket) -> None:
    """Make closing ``sock`` send a reset at once and discard what it still queues (SO_LINGER
    on, 0 s), instead of the graceful close that keeps retransmitting it, maybe for minutes.
    A socket that is already closed is left as it is."""
    if sock.fileno() < 0:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError as exc:
        _log.debug("SO_LINGER refused: %s", exc)
