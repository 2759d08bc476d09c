"""The TCP socket under an SSH connection, with the profile's kernel options.

asyncssh's ``tcp_keepalive`` only turns SO_KEEPALIVE on; the timings that make the kernel
notice a dead peer in seconds instead of hours (TCP_KEEPIDLE/KEEPINTVL/KEEPCNT) and the bound on
unacknowledged data (TCP_USER_TIMEOUT) have to be set on the socket. termkeep opens the socket
itself, sets them before the handshake, and hands the connected socket to asyncssh.
"""

from __future__ import annotations

import asyncio
import socket

from termkeep.config.profile import TcpSettings

MS_PER_SECOND = 1000


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


async def open_tcp(host: str, port: int, settings: TcpSettings) -> socket.socket:
    """Resolve ``host`` and connect to the first address that answers, with the options
    set before the SYN. Raises ``socket.gaierror`` or the last address's ``OSError``."""
    loop = asyncio.get_running_loop()
    addresses = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    last_error: OSError | None = None
    for family, sock_type, proto, _canonname, address in addresses:
        sock = socket.socket(family, sock_type, proto)
        try:
            sock.setblocking(False)
            apply_tcp_options(sock, settings)
            await loop.sock_connect(sock, address)
        except OSError as exc:
            sock.close()
            last_error = exc
            continue
        except BaseException:
            sock.close()
            raise
        return sock
    raise last_error or OSError(f"no address found for {host}")
