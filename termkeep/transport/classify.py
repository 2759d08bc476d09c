"""Turn whatever a connection attempt raised into a ``Cause`` and a plain-words detail.

The supervisor decides from the cause alone whether to retry, so every failure the network,
the kernel, asyncssh or the server can produce must land in exactly one ``Cause``.
"""

from __future__ import annotations

import errno
import socket

import asyncssh

from termkeep.transport.link import Cause, ConnectFailedError, SideChannelError, Stage

KEEPALIVE_LOST_REASON = "keepalive"
"""asyncssh says 'Server not responding to keepalive' when the keepalive count runs out."""

AUTH_FAILURES_REASON = "authentication failures"
"""OpenSSH ends with a protocol-error disconnect saying 'Too many authentication failures'."""

# Checked in order, so subclasses come before their bases (PermissionDenied before
# DisconnectError, ConnectionRefusedError before OSError).
_EXCEPTION_CAUSES: tuple[tuple[type[BaseException], Cause], ...] = (
    (asyncssh.HostKeyNotVerifiable, Cause.HOST_KEY_UNKNOWN),
    (asyncssh.PermissionDenied, Cause.AUTH_FAILED),
    (asyncssh.IllegalUserName, Cause.AUTH_FAILED),
    (asyncssh.KeyExchangeFailed, Cause.PROTOCOL),
    (asyncssh.MACError, Cause.PROTOCOL),
    (asyncssh.CompressionError, Cause.PROTOCOL),
    (asyncssh.ProtocolError, Cause.PROTOCOL),
    (asyncssh.ProtocolNotSupported, Cause.PROTOCOL),
    (asyncssh.ServiceNotAvailable, Cause.PROTOCOL),
    (asyncssh.ChannelOpenError, Cause.PROTOCOL),
    (asyncssh.ConnectionLost, Cause.SERVER_CLOSED),
    (asyncssh.DisconnectError, Cause.SERVER_CLOSED),
    (socket.gaierror, Cause.DNS_UNAVAILABLE),
    (ConnectionRefusedError, Cause.REFUSED),
    (ConnectionResetError, Cause.RESET),
    (ConnectionAbortedError, Cause.RESET),
    (BrokenPipeError, Cause.RESET),
    (TimeoutError, Cause.TIMEOUT),
    (EOFError, Cause.SERVER_CLOSED),
)

_DEFINITE_LOOKUP_ERRORS = frozenset(
    code for code in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", None)) if code is not None
)
"""getaddrinfo's definite answers: the name has no address. Anything else (EAI_AGAIN: no
resolver answered) may go away by itself."""

_ERRNO_CAUSES: dict[int, Cause] = {
    errno.ETIMEDOUT: Cause.TIMEOUT,
    errno.ENETUNREACH: Cause.UNREACHABLE,
    errno.EHOSTUNREACH: Cause.UNREACHABLE,
    errno.ENETDOWN: Cause.UNREACHABLE,
    errno.EHOSTDOWN: Cause.UNREACHABLE,
    errno.EADDRNOTAVAIL: Cause.UNREACHABLE,
    errno.ECONNREFUSED: Cause.REFUSED,
    errno.ECONNRESET: Cause.RESET,
    errno.ECONNABORTED: Cause.RESET,
    errno.EPIPE: Cause.RESET,
}


def classify(exc: BaseException) -> Cause:
    """The ``Cause`` for an exception raised while connecting or while attached."""
    special = _by_content(exc)
    if special is not None:
        return special
    for exc_type, cause in _EXCEPTION_CAUSES:
        if isinstance(exc, exc_type):
            return cause
    if isinstance(exc, OSError) and exc.errno in _ERRNO_CAUSES:
        return _ERRNO_CAUSES[exc.errno]
    # Anything else (an unexpected OSError, a decoding bug in a server's reply) is treated
    # as a protocol problem: retryable, and visible in the detail text.
    return Cause.PROTOCOL


def _by_content(exc: BaseException) -> Cause | None:
    """The cause when the exception's type alone does not tell it."""
    if isinstance(exc, ConnectFailedError):
        return exc.cause
    if isinstance(exc, asyncssh.ConnectionLost) and KEEPALIVE_LOST_REASON in exc.reason:
        # The server stopped answering: the same thing as a TCP timeout to the user.
        return Cause.TIMEOUT
    if isinstance(exc, asyncssh.DisconnectError) and AUTH_FAILURES_REASON in exc.reason.lower():
        return Cause.AUTH_FAILED
    if isinstance(exc, socket.gaierror) and exc.errno in _DEFINITE_LOOKUP_ERRORS:
        return Cause.DNS
    return None


def describe(exc: BaseException) -> str:
    """A short plain-words detail for the status line: no traceback, no class names."""
    if isinstance(exc, ConnectFailedError):
        return exc.detail
    if isinstance(exc, asyncssh.DisconnectError):
        return exc.reason or str(classify(exc))
    if isinstance(exc, asyncssh.ChannelOpenError):
        return f"the server refused to open a session: {exc.reason}"
    if isinstance(exc, socket.gaierror):
        return exc.strerror or str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc)
    return text if text else str(classify(exc))


def connect_failed(exc: BaseException, stage: Stage | None = None) -> ConnectFailedError:
    """Wrap any failure as the ``ConnectFailedError`` the supervisor expects; ``stage``
    (when known) says how far the attempt got."""
    if isinstance(exc, ConnectFailedError):
        if stage is not None:
            exc.stage = stage
        return exc
    if stage is None:
        return ConnectFailedError(classify(exc), describe(exc))
    return ConnectFailedError(classify(exc), describe(exc), stage)


def lookup_failed(host: str, exc: socket.gaierror) -> ConnectFailedError:
    """A failed name lookup, worded as ssh words it: ``could not resolve hostname HOST:
    Name or service not known``."""
    return ConnectFailedError(
        classify(exc), f"could not resolve hostname {host}: {describe(exc)}", Stage.CONNECT
    )


def side_channel_failed(exc: BaseException) -> SideChannelError:
    """Wrap a failure of a side command or channel: the transport's own words as the
    message, the cause and detail as ``connect_failed`` would give them."""
    return SideChannelError(str(exc), classify(exc), describe(exc))
