"""Which key writes a given-up link's server never received, on a real loopback TCP
connection written through a real asyncio transport (as asyncssh writes): the peer reads
some, then stops reading, so the rest stays unacknowledged in our queues."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from termkeep.platform.tcp import send_progress
from termkeep.transport.ssh.sent_keys import SentKeys

pytestmark = pytest.mark.skipif(not hasattr(socket, "TCP_INFO"), reason="TCP_INFO is Linux's")

FILLER = b"o" * 65536
"""Bytes that are not keys (pings, window adjusts, a resize): in the stream, never given back."""


@dataclass
class Pipe:
    """Our end (a socket under an asyncio transport, as asyncssh's) and the peer's."""

    sock: socket.socket
    transport: asyncio.WriteTransport
    peer: socket.socket
    keys: SentKeys

    def send(self, data: bytes) -> None:
        self.transport.write(data)

    def type(self, data: bytes) -> None:
        self.keys.write(self.send, data)

    async def peer_reads(self, count: int) -> bytes:
        """The peer reads ``count`` bytes, then its kernel acknowledges them."""
        loop = asyncio.get_running_loop()
        got = bytearray()
        while len(got) < count:
            got += await loop.sock_recv(self.peer, count - len(got))
        await self.acknowledged()
        return bytes(got)

    async def acknowledged(self) -> None:
        """Until our side has seen the ACK for everything the peer has read (bounded)."""
        for _ in range(500):
            progress = send_progress(self.sock)
            assert progress is not None
            if progress.last_send_age > 0.25 or progress.acked == progress.written:
                return
            await asyncio.sleep(0.01)

    def stall(self) -> None:
        """The peer stops reading; what follows fills its window and stays with us."""
        self.send(FILLER * 8)


@pytest.fixture
async def pipe() -> AsyncIterator[Pipe]:
    loop = asyncio.get_running_loop()
    with socket.create_server(("127.0.0.1", 0)) as server:
        sock = socket.create_connection(server.getsockname())
        peer, _ = server.accept()
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)  # so the transport buffers too
    peer.setblocking(False)
    transport, _ = await loop.create_connection(asyncio.Protocol, sock=sock)
    assert isinstance(transport, asyncio.WriteTransport)
    keys = SentKeys(sock, transport.get_write_buffer_size)
    try:
        yield Pipe(sock, transport, peer, keys)
    finally:
        transport.abort()
        peer.close()


async def test_keys_the_peer_read_are_not_given_back(pipe: Pipe) -> None:
    pipe.type(b"k01 ")
    pipe.type(b"k02 ")
    assert await pipe.peer_reads(8) == b"k01 k02 "
    assert await pipe.keys.unreceived() == b""


async def test_keys_behind_a_stalled_peer_are_given_back_in_order(pipe: Pipe) -> None:
    pipe.type(b"k01 ")
    assert await pipe.peer_reads(4) == b"k01 "
    pipe.stall()
    pipe.type(b"k02 ")
    pipe.send(b"ping")  # not keys: not given back, though it never arrived either
    pipe.type(b"k03 ")
    assert pipe.transport.get_write_buffer_size() > 0, "some of it waits in the transport"
    assert await pipe.keys.unreceived() == b"k02 k03 "


async def test_received_keys_are_forgotten_as_later_ones_are_written(pipe: Pipe) -> None:
    for number in range(100):
        pipe.type(b"k%02d " % number)
        await pipe.peer_reads(4)
    pipe.type(b"last")
    assert pipe.keys.outstanding <= 8  # the last write, and maybe the one before
    await pipe.peer_reads(4)
    assert await pipe.keys.unreceived() == b""


async def test_a_write_held_back_before_the_transport_comes_back_behind_one_that_did_not_arrive(
    pipe: Pipe,
) -> None:
    held_back: list[bytes] = []
    pipe.stall()
    pipe.type(b"k01 ")
    pipe.keys.write(held_back.append, b"k02 ")  # as asyncssh does during a key exchange
    # k01 never arrived, so nothing after it did: k02 comes back too, wherever it was.
    assert await pipe.keys.unreceived() == b"k01 k02 "
    assert held_back == [b"k02 "]


async def test_a_write_of_unknown_place_first_gives_nothing_back(pipe: Pipe) -> None:
    held_back: list[bytes] = []
    pipe.keys.write(held_back.append, b"k01 ")  # it may have gone out since, or not
    pipe.stall()
    pipe.type(b"k02 ")
    assert await pipe.keys.unreceived() == b""


async def test_without_a_socket_keys_are_sent_and_nothing_comes_back() -> None:
    sent: list[bytes] = []
    keys = SentKeys(None, lambda: 0)
    keys.write(sent.append, b"k01 ")
    assert sent == [b"k01 "]
    assert await keys.unreceived() == b""
