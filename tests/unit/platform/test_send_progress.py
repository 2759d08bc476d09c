"""Where the bytes written to a TCP socket stand (acknowledged by the peer's kernel or not),
read from a real loopback connection, and the reset that discards what is still queued."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator

import pytest

from termkeep.platform.tcp import (
    TCP_INFO_BYTES_ACKED,
    SendProgress,
    reset_when_closed,
    send_progress,
)

pytestmark = pytest.mark.skipif(not hasattr(socket, "TCP_INFO"), reason="TCP_INFO is Linux's")


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A connected loopback TCP pair (sender, receiver); the receiver's buffer is small so
    that it fills when the receiver stops reading."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        sender = socket.create_connection(server.getsockname())
        receiver, _ = server.accept()
    receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sender.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    try:
        yield sender, receiver
    finally:
        sender.close()
        receiver.close()


def progress(sock: socket.socket) -> SendProgress:
    reading = send_progress(sock)
    assert reading is not None, "this kernel should have tcpi_bytes_acked (Linux >= 4.1)"
    return reading


def settled(sock: socket.socket, condition: Callable[[SendProgress], bool]) -> SendProgress:
    """The first reading that meets ``condition`` within 5 s (acknowledgements take a
    moment even on loopback)."""
    deadline = time.monotonic() + 5.0
    while True:
        reading = progress(sock)
        if condition(reading) or time.monotonic() > deadline:
            return reading
        time.sleep(0.005)


def fill(sock: socket.socket) -> int:
    """Write until the kernel takes no more; returns how many bytes it took."""
    sock.setblocking(False)
    total = 0
    chunk = b"k" * 1024
    while True:
        try:
            total += sock.send(chunk)
        except BlockingIOError:
            return total


def drain(sock: socket.socket, count: int) -> None:
    sock.settimeout(5.0)
    got = 0
    while got < count:
        data = sock.recv(65536)
        assert data, "the sender closed early"
        got += len(data)


def test_every_byte_read_by_the_peer_is_acknowledged(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    sender, receiver = pair
    start = settled(sender, lambda p: p.acked == p.written)
    sender.sendall(b"k001 k002 ")
    after = progress(sender)
    assert after.written - start.written == 10
    drain(receiver, 10)
    done = settled(sender, lambda p: p.acked == p.written)
    assert done.acked == after.written


def test_bytes_a_stalled_peer_never_took_stay_unacknowledged(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    sender, receiver = pair
    start = settled(sender, lambda p: p.acked == p.written)
    sent = fill(sender)  # the receiver reads nothing: its window closes
    stuck = progress(sender)
    assert stuck.written - start.written == sent
    assert stuck.acked < stuck.written, "the peer cannot have taken all of it"
    assert stuck.acked - start.acked <= sent
    drain(receiver, sent)
    done = settled(sender, lambda p: p.acked == p.written)
    assert done.acked == stuck.written


def test_a_closed_socket_has_no_reading() -> None:
    sock = socket.socket()
    sock.close()
    assert send_progress(sock) is None


class OldKernelSocket:
    """A real socket seen through a kernel older than 4.1, whose ``struct tcp_info`` ends
    before tcpi_bytes_acked (only the kernel's answer is shortened)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def fileno(self) -> int:
        return self._sock.fileno()

    def getsockopt(self, level: int, option: int, size: int) -> bytes:
        return self._sock.getsockopt(level, option, size)[:TCP_INFO_BYTES_ACKED]


def test_a_kernel_without_bytes_acked_gives_no_reading(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    sender, _ = pair
    assert send_progress(OldKernelSocket(sender)) is None  # type: ignore[arg-type]


def test_a_reset_socket_discards_what_it_queued(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    sender, receiver = pair
    fill(sender)
    reset_when_closed(sender)
    sender.close()
    with pytest.raises(ConnectionResetError):
        read_to_the_end(receiver)


def read_to_the_end(sock: socket.socket) -> None:
    sock.settimeout(5.0)
    while sock.recv(65536):
        pass
