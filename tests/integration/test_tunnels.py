"""Tunnels of a tab against the real sshd: -L, -R and -D carrying real TCP services, their
failures in plain words, and how they come through a silent drop and a server-side abort."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace

import pytest

from termkeep.config.forwards import Forward, parse_flag
from termkeep.config.profile import KeepaliveSettings, Profile
from termkeep.transport.tunnels import Tunnel, TunnelState
from tests.fixtures.netns import NetnsSshServer
from tests.fixtures.profiles import profile_for
from tests.fixtures.sshd import SshServer, free_loopback_port
from tests.fixtures.tcp_services import (
    NamespaceEcho,
    echo_server,
    namespace_round_trip,
    round_trip,
    socks5_open,
)
from tests.integration.test_reconnect import (
    ATTACH_WAIT,
    RECOVERY_WAIT,
    Watch,
    opened,
    reconnect_profile,
)

CURL_WAIT = 30.0


def forwards(*flags: str) -> tuple[Forward, ...]:
    return tuple(parse_flag(*flag.split(" ", 1)) for flag in flags)


def tunnel(watch: Watch, flag: str) -> Tunnel:
    (found,) = [t for t in watch.session.tunnels.tunnels.tunnels if t.forward.flag == flag]
    return found


@contextlib.asynccontextmanager
async def attached_with(profile: Profile) -> AsyncIterator[Watch]:
    async with opened(profile) as watch:
        await watch.until(lambda: watch.state == "attached", ATTACH_WAIT, "the first attach")
        yield watch


async def until_up(watch: Watch, *flags: str) -> None:
    await watch.until(
        lambda: all(tunnel(watch, flag).state is TunnelState.UP for flag in flags),
        ATTACH_WAIT,
        f"{flags} up",
    )


async def curl_through_socks(proxy_port: int, url: str) -> str:
    curl = await asyncio.create_subprocess_exec(
        *("curl", "--silent", "--show-error", "--max-time", "20"),
        *("--socks5-hostname", f"127.0.0.1:{proxy_port}", url),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    async with asyncio.timeout(CURL_WAIT):
        output, _ = await curl.communicate()
    return output.decode()


@contextlib.asynccontextmanager
async def http_server(body: bytes) -> AsyncIterator[int]:
    """A one-page HTTP server on 127.0.0.1 (what curl fetches through the SOCKS proxy)."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        header = f"HTTP/1.0 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        writer.write(header + body)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


async def test_local_remote_and_socks_forwards_carry_real_services(sshd: SshServer) -> None:
    local_port, remote_port, socks_port = (free_loopback_port() for _ in range(3))
    async with echo_server() as echo_port, http_server(b"through the tunnel") as web_port:
        flags = (
            f"-L {local_port}:127.0.0.1:{echo_port}",
            f"-R {remote_port}:127.0.0.1:{echo_port}",
            f"-D {socks_port}",
        )
        async with attached_with(profile_for(sshd, forwards=forwards(*flags))) as watch:
            await until_up(watch, *flags)
            assert await round_trip(local_port, b"via -L") == b"via -L"
            # sshd listens on its loopback, which is this machine's: -R comes back here.
            assert await round_trip(remote_port, b"via -R") == b"via -R"
            # A real SOCKS client asking for a name the server resolves ("localhost").
            page = await curl_through_socks(socks_port, f"http://localhost:{web_port}/")
            assert page == "through the tunnel"
            code, reader, writer = await socks5_open(socks_port, "localhost", echo_port)
            assert code == 0
            writer.write(b"via -D")
            assert await reader.readexactly(6) == b"via -D"
            writer.close()
            local = tunnel(watch, flags[0])
            assert (local.total, local.bytes_sent, local.bytes_received) == (1, 6, 6)
            assert tunnel(watch, flags[1]).total == 1
            assert tunnel(watch, flags[2]).total == 2


async def test_busy_port_refused_remote_and_unreachable_destination_are_reported(
    sshd: SshServer,
) -> None:
    sshd.extra_config = ("AllowTcpForwarding local",)  # -L allowed, -R refused
    sshd.restart()
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    busy_port = busy.getsockname()[1]
    closed_port = free_loopback_port()
    working, unreachable = free_loopback_port(), free_loopback_port()
    async with echo_server() as echo_port:
        flags = (
            f"-L 127.0.0.1:{busy_port}:127.0.0.1:{echo_port}",
            f"-R {free_loopback_port()}:127.0.0.1:{echo_port}",
            f"-L {unreachable}:127.0.0.1:{closed_port}",
            f"-L {working}:127.0.0.1:{echo_port}",
        )
        try:
            async with attached_with(profile_for(sshd, forwards=forwards(*flags))) as watch:
                await until_up(watch, flags[3])
                await watch.until(
                    lambda: tunnel(watch, flags[1]).state is TunnelState.FAILED,
                    ATTACH_WAIT,
                    "the refused -R",
                )
                assert await round_trip(working, b"still works") == b"still works"
                with pytest.raises((asyncio.IncompleteReadError, ConnectionError)):
                    await round_trip(unreachable, b"x")
                await watch.until(
                    lambda: tunnel(watch, flags[2]).error is not None, ATTACH_WAIT, "the error"
                )
        finally:
            busy.close()
    assert tunnel(watch, flags[0]).state is TunnelState.FAILED
    assert (
        f"tunnel {flags[0]}: 127.0.0.1:{busy_port} is already in use by another program; "
        "pick another port"
    ) in watch.notices
    assert any(
        notice.startswith(f"tunnel {flags[1]}: the server refused to listen on server localhost:")
        and "AllowTcpForwarding" in notice
        for notice in watch.notices
    ), watch.notices
    assert tunnel(watch, flags[2]).error == (
        f"cannot reach 127.0.0.1:{closed_port} from the server: connection refused"
    )


async def test_a_server_that_forbids_forwarding_says_so(sshd: SshServer) -> None:
    sshd.extra_config = ("AllowTcpForwarding no",)
    sshd.restart()
    port = free_loopback_port()
    async with echo_server() as echo_port:
        flag = f"-L {port}:127.0.0.1:{echo_port}"
        async with attached_with(profile_for(sshd, forwards=forwards(flag))) as watch:
            await until_up(watch, flag)  # the listener is ours; the server decides per stream
            with pytest.raises((asyncio.IncompleteReadError, ConnectionError)):
                await round_trip(port, b"x")
            await watch.until(lambda: tunnel(watch, flag).error, ATTACH_WAIT, "the refusal")
    assert tunnel(watch, flag).error == (
        f"cannot reach 127.0.0.1:{echo_port} from the server: "
        "the server does not allow forwarding (sshd AllowTcpForwarding)"
    )


# --- through real faults (network namespace, root) -----------------------------------------


@pytest.fixture
def namespace_echo(netns_sshd: NetnsSshServer) -> Iterator[NamespaceEcho]:
    echo = NamespaceEcho.start(netns_sshd)
    try:
        yield echo
    finally:
        echo.stop()


def tunnel_profile(
    server: NetnsSshServer, echo: NamespaceEcho, port: int, remote_port: int, local_echo: int
) -> Profile:
    # Two missed keepalives a second apart: the old connection is known dead well inside
    # the drop, so the stream on it is cut, not carried on when the network returns.
    return replace(
        reconnect_profile(server),
        keepalive=KeepaliveSettings(interval=1.0, count_max=2),
        forwards=forwards(
            f"-L {port}:127.0.0.1:{echo.port}", f"-R {remote_port}:127.0.0.1:{local_echo}"
        ),
    )


async def open_stream(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"before")
    assert await asyncio.wait_for(reader.readexactly(6), ATTACH_WAIT) == b"before"
    return reader, writer


async def assert_broken(reader: asyncio.StreamReader) -> None:
    """The stream open at the fault ends with a reset, not a clean end."""
    with pytest.raises(ConnectionResetError):
        async with asyncio.timeout(RECOVERY_WAIT):
            await reader.readexactly(1)


async def test_remote_forward_comes_back_when_the_old_connection_lets_go_of_the_port(
    netns_sshd: NetnsSshServer, namespace_echo: NamespaceEcho
) -> None:
    """A short stall: the new connection asks for -R while the old connection's sshd may
    still hold the port; termkeep asks again until the server grants it."""
    port, remote_port = free_loopback_port(), free_loopback_port()
    async with echo_server() as local_echo:
        profile = tunnel_profile(netns_sshd, namespace_echo, port, remote_port, local_echo)
        async with attached_with(profile) as watch:
            flags = [t.forward.flag for t in watch.session.tunnels.tunnels.tunnels]
            await until_up(watch, *flags)
            with netns_sshd.blackhole():
                await watch.until(lambda: watch.state == "stalled", 15.0, "the stall")
            await watch.until(lambda: watch.state == "attached", RECOVERY_WAIT, "recovered")
            await until_up(watch, *flags)
            echoed = await asyncio.to_thread(namespace_round_trip, netns_sshd, remote_port, "R")
            assert echoed == "R"
            assert tunnel(watch, flags[1]).error is None


@pytest.mark.parametrize("fault", ["silent drop", "server abort"])
async def test_a_tunnel_comes_back_on_the_same_port_after_a_fault(
    netns_sshd: NetnsSshServer, namespace_echo: NamespaceEcho, fault: str
) -> None:
    port, remote_port = free_loopback_port(), free_loopback_port()
    flag = f"-L {port}:127.0.0.1:{namespace_echo.port}"
    async with contextlib.AsyncExitStack() as stack:
        local_echo = await stack.enter_async_context(echo_server())
        remote_flag = f"-R {remote_port}:127.0.0.1:{local_echo}"
        profile = tunnel_profile(netns_sshd, namespace_echo, port, remote_port, local_echo)
        watch = await stack.enter_async_context(attached_with(profile))
        await until_up(watch, flag, remote_flag)
        echoed = await asyncio.to_thread(namespace_round_trip, netns_sshd, remote_port, "-R")
        assert echoed == "-R"
        await _through_faults(watch, netns_sshd, fault, port, flag)
        # The server-side listener of -R died with the old connection: asked for again.
        await until_up(watch, flag, remote_flag)
        echoed = await asyncio.to_thread(
            namespace_round_trip, netns_sshd, remote_port, "back through -R"
        )
        assert echoed == "back through -R"


async def _through_faults(
    watch: Watch, netns_sshd: NetnsSshServer, fault: str, port: int, flag: str
) -> None:
    """The fault, with a stream open on -L and a connection made during the outage."""
    reader, writer = await open_stream(port)
    if fault == "silent drop":
        with netns_sshd.blackhole():
            await watch.until(lambda: watch.state != "attached", 15.0, "the stall")
            # A connection made during the outage waits for the reattach.
            waiting = asyncio.ensure_future(round_trip(port, b"made during the outage"))
            await asyncio.sleep(6)  # the outage itself: time, not a condition
    else:
        netns_sshd.kill_connections()
        await watch.until(lambda: watch.state != "attached", 15.0, "the abort")
        waiting = asyncio.ensure_future(round_trip(port, b"made during the outage"))
    await watch.until(lambda: watch.state == "attached", RECOVERY_WAIT, "reattached")
    assert await waiting == b"made during the outage"
    assert await round_trip(port, b"after") == b"after"  # the same port, a new stream
    await assert_broken(reader)
    writer.close()
    await watch.until(lambda: tunnel(watch, flag).broken == 1, 5.0, "the broken count")
    assert tunnel(watch, flag).state is TunnelState.UP
    assert f"tunnel {flag}: a connection through it was cut by the outage" in watch.notices
