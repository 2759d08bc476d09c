"""The SOCKS5 handshake of a dynamic forward (``ssh -D``), server side, RFC 1928.

Only what ssh -D offers is accepted: no authentication, the CONNECT command, IPv4, IPv6 and
domain-name destinations. A domain name is handed on as text, so the SSH server resolves it
(never this machine: a ``--socks5-hostname`` client asked for exactly that). Anything else
gets the protocol's own refusal and the socket is closed: SOCKS4 (which would let a client
skip the method negotiation), other commands (BIND, UDP ASSOCIATE), unknown address types,
unusable names. Every field has a size fixed by the protocol (a name is at most 255 bytes)
and the whole handshake a deadline, so no request can grow a buffer or hold a task.
"""

from __future__ import annotations

import asyncio
import ipaddress
import struct
from dataclasses import dataclass
from enum import IntEnum

SOCKS4 = 4
SOCKS5 = 5
NO_AUTHENTICATION = 0x00
NO_ACCEPTABLE_METHOD = 0xFF
CONNECT = 0x01
SOCKS4_REJECTED = 0x5B
HANDSHAKE_TIMEOUT = 10.0
"""Seconds a client has to finish the handshake; a silent client does not hold a task."""


class Reply(IntEnum):
    """SOCKS5 reply codes (RFC 1928 section 6)."""

    SUCCEEDED = 0x00
    GENERAL_FAILURE = 0x01
    NOT_ALLOWED = 0x02
    NETWORK_UNREACHABLE = 0x03
    HOST_UNREACHABLE = 0x04
    CONNECTION_REFUSED = 0x05
    TTL_EXPIRED = 0x06
    COMMAND_NOT_SUPPORTED = 0x07
    ADDRESS_TYPE_NOT_SUPPORTED = 0x08


class AddressType(IntEnum):
    IPV4 = 0x01
    DOMAIN = 0x03
    IPV6 = 0x04


class SocksError(Exception):
    """The client's handshake was refused; the message says why, in plain words."""


@dataclass(frozen=True, slots=True)
class SocksRequest:
    """Where a SOCKS client wants to go."""

    host: str
    port: int


async def read_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> SocksRequest:
    """Run the handshake up to the request; raise SocksError (after the refusal is sent)
    when it cannot be served. The caller answers with ``reply`` once it knows the outcome."""
    async with asyncio.timeout(HANDSHAKE_TIMEOUT):
        await _negotiate_method(reader, writer)
        version, command, _reserved, address_type = await reader.readexactly(4)
        if version != SOCKS5:
            raise SocksError(f"request with SOCKS version {version}")
        if command != CONNECT:
            await _refuse(writer, Reply.COMMAND_NOT_SUPPORTED)
            raise SocksError(f"SOCKS command {command} is not supported (only CONNECT)")
        host = await _read_address(reader, writer, address_type)
        (port,) = struct.unpack("!H", await reader.readexactly(2))
    return SocksRequest(host, port)


async def _negotiate_method(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    version, method_count = await reader.readexactly(2)
    if version == SOCKS4:
        # SOCKS4 has no authentication step at all: answer "rejected" in its own format.
        writer.write(bytes([0, SOCKS4_REJECTED]) + bytes(6))
        await writer.drain()
        raise SocksError("SOCKS4 is not accepted; use SOCKS5 (e.g. curl --socks5-hostname)")
    if version != SOCKS5:
        raise SocksError(f"not a SOCKS client (first byte {version})")
    methods = await reader.readexactly(method_count)
    if NO_AUTHENTICATION not in methods:
        writer.write(bytes([SOCKS5, NO_ACCEPTABLE_METHOD]))
        await writer.drain()
        raise SocksError("the SOCKS client offers no method without authentication")
    writer.write(bytes([SOCKS5, NO_AUTHENTICATION]))
    await writer.drain()


async def _read_address(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, address_type: int
) -> str:
    if address_type == AddressType.IPV4:
        return str(ipaddress.IPv4Address(await reader.readexactly(4)))
    if address_type == AddressType.IPV6:
        return str(ipaddress.IPv6Address(await reader.readexactly(16)))
    if address_type == AddressType.DOMAIN:
        (length,) = await reader.readexactly(1)
        name = (await reader.readexactly(length)).decode("ascii", errors="replace")
        if not name or any(not ch.isprintable() or ch.isspace() for ch in name):
            await _refuse(writer, Reply.GENERAL_FAILURE)
            raise SocksError("the SOCKS client sent an unusable host name")
        return name
    await _refuse(writer, Reply.ADDRESS_TYPE_NOT_SUPPORTED)
    raise SocksError(f"SOCKS address type {address_type} is not supported")


async def reply(writer: asyncio.StreamWriter, code: Reply) -> None:
    """Send the reply to the request (the bound address is not meaningful here: zeros)."""
    writer.write(bytes([SOCKS5, code, 0, AddressType.IPV4]) + bytes(4) + struct.pack("!H", 0))
    await writer.drain()


async def _refuse(writer: asyncio.StreamWriter, code: Reply) -> None:
    await reply(writer, code)
