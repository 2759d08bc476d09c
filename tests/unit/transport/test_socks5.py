"""The SOCKS5 server side of ``-D``, over real loopback sockets: what is accepted, what gets a
clean refusal, and that a name is handed on unresolved (the SSH server resolves it)."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator

import pytest

from termkeep.config.forwards import parse_flag
from termkeep.transport import socks5
from termkeep.transport.tunnels import TunnelSet
from tests.fixtures.sshd import free_loopback_port


async def handshake(data: bytes) -> tuple[socks5.SocksRequest | str, bytes]:
    """Run ``read_request`` on a real socket fed ``data``; what it returned (or why it
    refused) and every byte it answered."""
    outcome: list[socks5.SocksRequest | str] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            outcome.append(await socks5.read_request(reader, writer))
        except (socks5.SocksError, asyncio.IncompleteReadError) as error:
            outcome.append(str(error))
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        reader, writer = await asyncio.open_connection(*server.sockets[0].getsockname()[:2])
        writer.write(data)
        writer.write_eof()
        async with asyncio.timeout(5):
            answer = await reader.read()
        writer.close()
    finally:
        server.close()
    return outcome[0], answer


def connect_request(address_type: int, address: bytes, port: int = 80) -> bytes:
    return b"\x05\x01\x00" + bytes([address_type]) + address + struct.pack("!H", port)


NO_AUTH = b"\x05\x01\x00"


@pytest.mark.parametrize(
    ("address_type", "address", "host"),
    [
        (3, b"\x11only.server.knows", "only.server.knows"),
        (1, bytes([10, 1, 2, 3]), "10.1.2.3"),
        (4, bytes(15) + b"\x01", "::1"),
    ],
)
async def test_connect_requests_are_read_and_names_stay_unresolved(
    address_type: int, address: bytes, host: str
) -> None:
    request, answer = await handshake(NO_AUTH + connect_request(address_type, address))
    assert request == socks5.SocksRequest(host, 80)
    assert answer == b"\x05\x00"  # "no authentication" chosen; the reply comes after connect


@pytest.mark.parametrize(
    ("data", "why", "answer"),
    [
        # SOCKS4 would skip the method negotiation: its own "rejected" reply, then closed.
        (b"\x04\x01\x00\x50\x7f\x00\x00\x01user\x00", "SOCKS4 is not accepted", b"\x00\x5b"),
        (b"\x05\x01\x02", "offers no method without authentication", b"\x05\xff"),
        (NO_AUTH + b"\x05\x02\x00\x01" + bytes(6), "command 2 is not supported", b"\x05\x07"),
        (NO_AUTH + b"\x05\x03\x00\x01" + bytes(6), "command 3 is not supported", b"\x05\x07"),
        (NO_AUTH + b"\x05\x01\x00\x09" + bytes(6), "address type 9 is not supported", b"\x05\x08"),
        (NO_AUTH + connect_request(3, b"\x03a b"), "unusable host name", b"\x05\x01"),
        (b"GET / HTTP/1.1\r\n\r\n", "not a SOCKS client", b""),
    ],
)
async def test_everything_else_gets_a_clean_refusal(data: bytes, why: str, answer: bytes) -> None:
    outcome, sent = await handshake(data)
    assert isinstance(outcome, str)
    assert why in outcome
    assert sent.removeprefix(b"\x05\x00").startswith(answer)


async def test_a_truncated_request_is_refused_without_a_hang() -> None:
    outcome, _ = await handshake(NO_AUTH + b"\x05\x01\x00\x03\xff" + b"short")
    assert isinstance(outcome, str)  # the name announced 255 bytes; the client ended first


@pytest.fixture
async def proxy_without_link() -> AsyncIterator[int]:
    """A -D listener whose tab has no connection: held requests give up after hold_for."""
    port = free_loopback_port()
    tunnels = TunnelSet([parse_flag("-D", str(port))], hold_for=0.2)
    await tunnels.start()
    try:
        yield port
    finally:
        await tunnels.close()


async def test_a_request_during_an_outage_is_answered_network_unreachable(
    proxy_without_link: int,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy_without_link)
    writer.write(NO_AUTH + connect_request(3, b"\x09localhost"))
    async with asyncio.timeout(5):
        answer = await reader.read()
    writer.close()
    assert answer[:2] == b"\x05\x00"
    assert answer[2:4] == bytes([5, socks5.Reply.NETWORK_UNREACHABLE])
