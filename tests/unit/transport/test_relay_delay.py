"""FaultRelay's added latency, over loopback TCP to a local echo server."""

from __future__ import annotations

import asyncio

import pytest

from termkeep.transport.relay import FaultRelay

ONE_WAY = 0.05
WAIT_BOUND = 10.0


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()


async def test_each_direction_is_held_for_the_delay_in_order_without_losing_bytes() -> None:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    relay = FaultRelay("127.0.0.1", port, one_way_delay=ONE_WAY)
    await relay.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", relay.port)
        loop = asyncio.get_running_loop()
        started = loop.time()
        writer.write(b"ping")
        await writer.drain()
        assert await asyncio.wait_for(reader.readexactly(4), WAIT_BOUND) == b"ping"
        # A lower bound only: the relay never delivers sooner than twice the delay.
        assert loop.time() - started >= 2 * ONE_WAY
        # Many chunks in flight at once come back whole and in order.
        payload = bytes(range(256)) * 4096
        writer.write(payload)
        await writer.drain()
        echoed = await asyncio.wait_for(reader.readexactly(len(payload)), WAIT_BOUND)
        assert echoed == payload
        writer.close()
    finally:
        await relay.close()
        server.close()
        await server.wait_closed()


def test_a_negative_delay_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        FaultRelay("127.0.0.1", 1, one_way_delay=-0.1)
